"""The page in a real headless Chromium with a fake webcam, on a real broker."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from PIL import Image
from playwright.sync_api import Page

from brain.processes import EXIT_FATAL
from effectors.browser._address import network_address, shown_host
from schemas import Alert, Command, ImageEvent, Label, Perception, TranscriptEvent
from tests.chromium import ARTIFACTS, CHROMIUM, TOKEN, Server, start_browser_node
from tests.shapes import bomb_jpeg
from tests.support import (
    Broker,
    NodeProcess,
    Recorder,
    cortex,
    publish,
    topic_is,
)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")

T = TypeVar("T")


def alerts_node(
    broker: Broker, start: Callable[..., NodeProcess], tmp_path: Path, rule: str
) -> NodeProcess:
    """An alerts node with one rule (its TOML lines), keeping its files in ``tmp_path``."""
    config = tmp_path / "alerts.toml"
    config.write_text(
        f'[alerts]\noutbox = "{tmp_path / "outbox.sqlite3"}"\n'
        f'armed_file = "{tmp_path / "armed.json"}"\nclips = "{tmp_path / "clips"}"\n'
        f"[[alerts.rules]]\n{rule}\n"
    )
    node = start("--mqtt", broker.url, "--config", str(config), "node", "alerts")
    node.wait_online(broker, "alerts")
    return node


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a thread of its own: Playwright's sync API owns this one's loop."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def image_events(recorder: Recorder, source: str, count: int) -> list[ImageEvent]:
    found = recorder.wait_for(topic_is(f"brain/senses/camera/{source}/image"), count=count)
    return [ImageEvent.model_validate_json(payload) for _, payload in found]


def test_frames_from_the_webcam_arrive_as_image_events(
    server: Server, mosquitto: Broker, record: Callable[..., Recorder], page: Page
) -> None:
    recorder = record(mosquitto, "brain/senses/#")
    page.goto(server.page_url(source="hall"))
    frames = image_events(recorder, "hall", count=3)
    assert [f.seq for f in frames] == [0, 1, 2]
    for frame in frames:
        assert frame.content_type == "image/jpeg" and (frame.width, frame.height) == (320, 240)
        with Image.open(io.BytesIO(frame.data)) as image:
            red, green, blue = image.convert("RGB").resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
        assert blue > 150 and red < 80 and green < 80  # the fake webcam's blue scene
    assert page.locator("#state").inner_text() == "connected"


def test_a_perception_for_the_page_appears_in_it_and_others_do_not(
    server: Server, mosquitto: Broker, record: Callable[..., Recorder], page: Page
) -> None:
    recorder = record(mosquitto, "brain/senses/#")
    page.goto(server.page_url(source="hall"))
    frame = image_events(recorder, "hall", count=1)[0]
    elsewhere = Perception(
        source="garden", cause="x", sense="camera", kind="vision", text="I see a cat."
    )
    publish(mosquitto, "brain/perceptions/camera/garden", elsewhere.to_json())
    ours = Perception(
        source="hall",
        cause=frame.id,
        sense="camera",
        kind="vision",
        labels=[Label(label="golden_retriever", score=0.83), Label(label="tennis_ball", score=0.1)],
        text="I see a golden retriever.",
    )
    publish(mosquitto, "brain/perceptions/camera/hall", ours.to_json())
    page.wait_for_function("document.getElementById('sentence').textContent.length > 0")
    assert page.locator("#sentence").inner_text() == "I see a golden retriever."
    assert page.locator("#labels .label").all_inner_texts() == ["golden retriever", "tennis ball"]
    assert page.locator("#labels .score").all_inner_texts() == ["83%", "10%"]
    # The page knew which of its frames the perception was about, and timed it.
    assert page.evaluate("window.brain.state.roundTrips.length") == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-perception.png"))


def test_what_the_user_says_goes_up_and_what_do_you_see_sends_one_frame(
    server: Server,
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    page: Page,
) -> None:
    cortex(mosquitto, brain_process)  # it turns the sentence into a camera command
    recorder = record(mosquitto, "brain/senses/#")
    page.goto(server.page_url(source="hall", eye="closed"))
    page.wait_for_function("document.getElementById('state').textContent === 'connected'")
    page.wait_for_function("document.getElementById('video').videoWidth > 0")
    time.sleep(1)
    assert recorder.matching(topic_is("brain/senses/camera/hall/image")) == []  # eye closed

    page.fill("#words", "Please, what do you see?")
    page.click("#say button")  # the page's own path, as speech recognition would take
    _, payload = recorder.wait_for(topic_is("brain/senses/microphone/hall/transcript"))[0]
    transcript = TranscriptEvent.model_validate_json(payload)
    assert transcript.text == "Please, what do you see?" and transcript.source == "hall"

    # The cortex answers with a snapshot command; the page sends one frame and shows
    # what the cortex (the colours model) made of it.
    assert len(image_events(recorder, "hall", count=1)) == 1
    page.wait_for_function("document.getElementById('sentence').textContent.length > 0")
    assert page.locator("#sentence").inner_text() == "I see a blue."
    time.sleep(1)
    assert len(recorder.matching(topic_is("brain/senses/camera/hall/image"))) == 1


def test_without_the_token_the_page_and_the_websocket_are_refused(server: Server) -> None:
    for address in (f"{server.origin}/", f"{server.origin}/static/page.js"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(address)
        assert refused.value.code == 403
        assert "token" in refused.value.read().decode()
    with urllib.request.urlopen(server.page_url()) as page:
        assert "brain-token" in page.headers["Set-Cookie"]

    async def handshake(query: str, origin: str | None = None) -> int:
        headers = {"Origin": origin} if origin else {}
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(f"{server.origin}/ws?{query}", headers=headers):
                    return 101
            except aiohttp.WSServerHandshakeError as error:
                return error.status

    assert run_async(handshake("source=x")) == 403
    assert run_async(handshake(f"source=x&token={TOKEN}", "https://evil.example")) == 403
    assert run_async(handshake(f"source=x&token={TOKEN}", server.origin)) == 101


def jpeg() -> bytes:
    encoded = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 40, 230)).save(encoded, "JPEG")
    return encoded.getvalue()


async def page_client(server: Server, source: str) -> tuple[aiohttp.ClientSession, object]:
    session = aiohttp.ClientSession()
    socket = await session.ws_connect(f"{server.origin}/ws?source={source}&token={TOKEN}")
    assert (await socket.receive_json())["type"] == "welcome"
    return session, socket


async def told_next(socket: object) -> dict[str, object]:
    """What the page is told of its own input next, past the frames and perceptions of
    every camera that every page hears."""
    while True:
        message: dict[str, object] = await socket.receive_json(timeout=10)  # type: ignore[attr-defined]
        if message["type"] not in ("frame", "perception", "track"):
            return message


def test_a_page_over_its_limits_is_told_and_throttled_alone(
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    record: Callable[..., Recorder],
    tmp_path: Path,
) -> None:
    server = start_browser_node(
        mosquitto,
        brain_process,
        tmp_path,
        "--set",
        "browser.max_fps=2",
        "--set",
        "browser.max_frame_bytes=20000",
    )
    recorder = record(mosquitto, "brain/senses/#")

    async def scenario() -> list[dict[str, object]]:
        greedy_session, greedy = await page_client(server, "greedy")
        calm_session, calm = await page_client(server, "calm")
        async with greedy_session, calm_session:
            for _ in range(10):
                await greedy.send_bytes(jpeg())  # type: ignore[attr-defined]
            await greedy.send_bytes(b"\x89PNG not a jpeg")  # type: ignore[attr-defined]
            await greedy.send_bytes(jpeg() + bytes(25_000))  # type: ignore[attr-defined]
            await calm.send_bytes(jpeg())  # type: ignore[attr-defined]
            told = [await told_next(greedy) for _ in range(3)]
            await greedy.send_str("{not json")  # type: ignore[attr-defined]
            told.append(await told_next(greedy))
            return told

    told = run_async(scenario())
    assert [m["type"] for m in told] == ["throttled", "refused", "refused", "refused"]
    assert "faster than 2 a second" in str(told[0]["reason"]) and told[0]["max_fps"] == 2
    assert "not a readable JPEG" in str(told[1]["reason"])
    assert "over the limit of 20000" in str(told[2]["reason"])
    assert "JSON" in str(told[3]["reason"])
    assert len(image_events(recorder, "calm", count=1)) == 1  # the other page is not affected
    time.sleep(0.5)
    assert len(recorder.matching(topic_is("brain/senses/camera/greedy/image"))) == 2  # the burst


def test_away_from_localhost_it_needs_a_certificate(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess], tmp_path: Path
) -> None:
    node = brain_process(
        "--mqtt", mosquitto.url, "--set", 'browser.host="0.0.0.0"', "node", "browser"
    )
    assert node.process.wait(timeout=30) == EXIT_FATAL
    assert "needs https" in node.log() and "browser.cert" in node.log()


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl to make a certificate")
def test_with_a_certificate_it_serves_https(
    mosquitto: Broker, brain_process: Callable[..., NodeProcess], tmp_path: Path, page: Page
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "OPENSSL_CONF": "/dev/null"},
    )
    server = start_browser_node(
        mosquitto,
        brain_process,
        tmp_path,
        "--set",
        f"browser.cert={json.dumps(str(cert))}",
        "--set",
        f"browser.key={json.dumps(str(key))}",
    )
    server.scheme = "https"
    assert f"https://127.0.0.1:{server.port}/?token=" in server.node.log()
    context = page.context.browser.new_context(ignore_https_errors=True, bypass_csp=True)  # type: ignore[union-attr]
    secure = context.new_page()
    secure.goto(server.page_url(source="phone"))
    secure.wait_for_function("document.getElementById('state').textContent === 'connected'")
    assert secure.evaluate("window.isSecureContext")
    context.close()


def test_mentions_and_alerts_appear_and_a_sentence_is_said_once(
    server: Server, mosquitto: Broker, page: Page
) -> None:
    page.goto(server.page_url(source="hall", eye="closed"))
    page.wait_for_function("document.getElementById('state').textContent === 'connected'")
    # Count what the page asks the browser's speech synthesis to say.
    page.evaluate(
        """() => {
        window.spoken = [];
        const speak = speechSynthesis.speak.bind(speechSynthesis);
        speechSynthesis.speak = (utterance) => {
            window.spoken.push(utterance.text);
            speak(utterance);
        };
    }"""
    )
    mention = Perception(
        source="brainbot",
        cause="t1",
        sense="twitter",
        kind="mention",
        text="@alice mentioned you: hello brain",
    )
    seen = Perception(
        source="hall",
        cause="f1",
        sense="camera",
        kind="vision",
        labels=[Label(label="person", score=0.97)],
        text="I see a person.",
    )
    alert = Alert(source="hall", rule="person-at-door", perception=seen)
    publish(mosquitto, "brain/perceptions/twitter/brainbot", mention.to_json())
    publish(mosquitto, "brain/alerts/person-at-door", alert.to_json())
    for _ in range(2):
        publish(mosquitto, "brain/perceptions/camera/hall", seen.to_json())
    page.wait_for_function("document.querySelectorAll('#feed li').length === 2")
    news = page.locator("#feed li").all_inner_texts()
    assert any("@alice mentioned you: hello brain" in item for item in news)
    assert any("Alert (person-at-door) at hall: I see a person." in item for item in news)
    page.wait_for_function("window.spoken.includes('I see a person.')")
    time.sleep(0.5)
    assert page.evaluate("window.spoken.filter((text) => text === 'I see a person.').length") == 1


def test_the_page_reconnects_by_itself_and_shows_it(
    mosquitto: Broker,
    brain_process: Callable[..., NodeProcess],
    tmp_path: Path,
    page: Page,
) -> None:
    server = start_browser_node(mosquitto, brain_process, tmp_path)
    page.goto(server.page_url(source="hall", eye="closed"))
    page.wait_for_function("document.getElementById('state').textContent === 'connected'")
    server.node.stop()
    page.wait_for_function("document.getElementById('state').textContent.startsWith('offline')")
    again = brain_process(
        "--mqtt",
        mosquitto.url,
        "--set",
        f"browser.port={server.port}",
        "--set",
        f'browser.token="{TOKEN}"',
        "node",
        "browser",
    )
    again.wait_for_log('"event": "open the page"')
    page.wait_for_function(
        "document.getElementById('state').textContent === 'connected'", timeout=20_000
    )


def test_a_bomb_frame_and_deeply_nested_text_are_refused_and_the_page_stays(
    server: Server, mosquitto: Broker, record: Callable[..., Recorder]
) -> None:
    recorder = record(mosquitto, "brain/senses/#")

    async def scenario() -> list[dict[str, object]]:
        session, socket = await page_client(server, "tricky")
        async with session:
            await socket.send_bytes(bomb_jpeg())  # type: ignore[attr-defined]
            await socket.send_str('{"a":' * 50_000 + "1" + "}" * 50_000)  # type: ignore[attr-defined]
            told = [await told_next(socket) for _ in range(2)]
            await socket.send_str(json.dumps({"type": "transcript", "text": "still here"}))  # type: ignore[attr-defined]
            return told

    told = run_async(scenario())
    assert [m["type"] for m in told] == ["refused", "refused"]
    assert "not a readable JPEG image (the image is too big to decode" in str(told[0]["reason"])
    assert "nested too deeply" in str(told[1]["reason"])
    recorder.wait_for(lambda _t, p: b"still here" in p)
    assert "Traceback" not in server.node.log()


def test_an_alert_rule_is_armed_and_disarmed_with_its_switch_on_the_page(
    server: Server,
    mosquitto: Broker,
    record: Callable[..., Recorder],
    brain_process: Callable[..., NodeProcess],
    page: Page,
    tmp_path: Path,
) -> None:
    states = record(mosquitto, "brain/state/alerts/door", "brain/commands/alerts/#")
    alerts_node(mosquitto, brain_process, tmp_path, 'name = "door"\nlabels = ["person"]')
    states.wait_for(topic_is("brain/state/alerts/door"))
    page.goto(server.page_url(source="hall", eye="closed"))
    switch = page.locator("#rule-door button")
    switch.wait_for(timeout=60_000)
    assert (switch.inner_text(), switch.get_attribute("aria-pressed")) == ("door: armed", "true")

    switch.click()
    [(_, payload)] = states.wait_for(topic_is("brain/commands/alerts/door"))
    command = Command.model_validate_json(payload)
    assert (command.command, command.source) == ("disarm", "hall")
    page.wait_for_function(
        "document.querySelector('#rule-door button').textContent === 'door: disarmed'"
    )
    assert switch.get_attribute("aria-pressed") == "false"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-rule-disarmed.png"), full_page=True)

    switch.click()
    page.wait_for_function(
        "document.querySelector('#rule-door button').textContent === 'door: armed'"
    )
    assert json.loads((tmp_path / "armed.json").read_text()) == {"door": True}


def test_listening_on_every_address_shows_an_address_a_phone_can_type() -> None:
    if network_address() is None:
        pytest.skip("this machine has no network but its loopback")
    shown = shown_host("0.0.0.0")
    assert shown == network_address() and not shown.startswith("127.")  # not a host name
    with socket.socket() as sock:
        sock.bind((shown, 0))  # one of this machine's own addresses
