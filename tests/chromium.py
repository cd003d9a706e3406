"""A real headless Chromium with a fake webcam, for the page's tests and benchmark."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser, Playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def write_y4m(path: Path, frames: list[np.ndarray], *, fps: int = 10) -> Path:
    """RGB frames (H x W x 3, uint8) as a YUV4MPEG2 4:2:0 file, Chromium's fake webcam."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as file:
        file.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            r, g, b = (rgb[..., n].astype(np.float32) for n in range(3))
            y = 0.299 * r + 0.587 * g + 0.114 * b  # BT.601, full range (JPEG's)
            u = -0.1687 * r - 0.3313 * g + 0.5 * b + 128
            v = 0.5 * r - 0.4187 * g - 0.0813 * b + 128
            file.write(b"FRAME\n")
            for plane, step in ((y, 1), (u, 2), (v, 2)):
                file.write(np.clip(plane[::step, ::step], 0, 255).astype(np.uint8).tobytes())
    return path


def blue_frames(count: int = 10, *, width: int = 320, height: int = 240) -> list[np.ndarray]:
    """A blue scene with a white square that moves: the colours model says "blue"."""
    frames = []
    for n in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 2] = 220
        x = 10 + n * (width - 60) // count
        frame[100:140, x : x + 40] = 255
        frames.append(frame)
    return frames


def launch(playwright: Playwright, *, video: Path) -> Browser:
    """Debian's Chromium, headless, with ``video`` as its webcam and no prompts.

    Playwright gives each launch a fresh profile (a new user-data-dir).
    """
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
            "--use-fake-ui-for-media-stream",  # grant the camera without asking
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
