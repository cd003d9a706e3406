"""``brain demo``: what brain is for, on any machine, webcam or not.

The smart CCTV in small: a family member is enrolled from one photo, the camera plays
other photos (her, mirrored; a stranger; a cat), the cortex tells who is there and the
speaker says it: "I see Eileen Collins.", "I see a stranger.". The photos ship with
scikit-image (the astronaut Eileen Collins, Chelsea the cat) and Matplotlib (Grace
Hopper); the demo keeps its gallery in a folder of its own, never the user's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import numpy as np
from PIL import Image

from brain._config import state_dir
from brain._logging import LIBRARY_NOISE
from brain.cli._group import main
from brain.cli._options import remember_sets, shared_options
from brain.cli._run import run
from brain.faces import Gallery, name_of

FAMILY = "Eileen Collins"


@main.command()
@shared_options
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Enrol a family member from a sample photo, then run camera, cortex and speaker
    on sample photos of her and of others (Ctrl-C stops it)."""
    try:
        from matplotlib import cbook
        from skimage import data
    except ImportError as error:
        raise click.ClickException(
            f"the demo needs {error.name}: install brain with its cortex and faces extras "
            "(`make setup` does)"
        ) from None
    folder = state_dir() / "demo"
    camera, gallery = folder / "camera", folder / "gallery"
    camera.mkdir(parents=True, exist_ok=True)
    astronaut = data.astronaut()
    Image.fromarray(astronaut).save(folder / "eileen-collins.png")
    # What the camera sees: her, mirrored (not the photo she was enrolled from); a
    # stranger; a cat, in which no one is seen.
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(camera / "1-eileen.jpg")
    hopper = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    Image.open(hopper).convert("RGB").save(camera / "2-a-stranger.jpg")
    Image.fromarray(data.chelsea()).save(camera / "3-a-cat.jpg")
    if name_of(FAMILY) not in {person.name for person in Gallery.open(gallery).people()}:
        _enrol(FAMILY, folder / "eileen-collins.png", gallery)
    # The user's own --set values come after these, and win.
    remember_sets(
        ctx,
        f"camera.source={str(camera)!r}",
        "camera.fps=0.5",
        "cortex.model=faces",
        f"cortex.gallery={str(gallery)!r}",
        first=True,
    )
    ctx.invoke(run, nodes=("camera", "cortex", "speaker"), keep_going=False)


def _enrol(name: str, photo: Path, gallery: Path) -> None:
    """``brain faces add`` in a child process, whose TensorFlow start-up lines are left
    out as ``brain run`` leaves out its nodes'."""
    argv = [sys.executable, "-P", "-m", "brain", "faces", "add", name, str(photo)]
    done = subprocess.run([*argv, "--gallery", str(gallery)], capture_output=True, text=True)
    said = [line for line in done.stderr.splitlines() if not LIBRARY_NOISE.match(line)]
    click.echo("".join(f"{line}\n" for line in [*done.stdout.splitlines(), *said]), nl=False)
    if done.returncode != 0:
        raise click.ClickException(f"the demo could not enrol {name} (see above)")
