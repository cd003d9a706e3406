from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from brain import NodeOptions
from brain._config import set_environment
from brain._url import BrokerUrl
from brain.config import OptionError, load_settings
from effectors.alerts import AlertsOptions
from senses import camera
from senses.microphone import MicrophoneOptions


class CameraOptions(NodeOptions):
    source: str = "0"
    fps: float = Field(default=2.0, gt=0)
    mode: str = "auto"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_set_beats_environment_beats_file(tmp_path: Path) -> None:
    config = write(tmp_path / "brain.toml", '[camera]\nsource = "file"\nfps = 1\nmode = "file"\n')
    settings = load_settings(
        config=config,
        sets=["camera.source=cli"],
        env={"BRAIN_CAMERA_SOURCE": "env", "BRAIN_CAMERA_FPS": "5"},
    )
    options = settings.options_for("camera", CameraOptions)
    assert options == CameraOptions(source="cli", fps=5, mode="file")


def test_values_are_read_as_toml_where_they_can_be() -> None:
    settings = load_settings(sets=["camera.fps=2.5", "camera.source=frontdoor"], env={})
    assert settings.options_for("camera", CameraOptions) == CameraOptions(
        source="frontdoor", fps=2.5
    )


def test_an_unknown_key_is_named_with_the_accepted_ones() -> None:
    settings = load_settings(sets=["camera.sorce=x"], env={})
    with pytest.raises(OptionError) as error:
        settings.options_for("camera", CameraOptions)
    message = str(error.value)
    assert "camera.sorce" in message and "--set camera.sorce=x" in message
    assert "accepted: fps, keepalive, mode, source, stats_interval" in message


def test_a_bad_value_names_its_key_origin_and_problem() -> None:
    settings = load_settings(env={"BRAIN_CAMERA_FPS": "-1"})
    with pytest.raises(
        OptionError,
        match=r"camera\.fps = -1 \(from environment variable "
        r"BRAIN_CAMERA_FPS\): Input should be greater than 0",
    ):
        settings.options_for("camera", CameraOptions)


@pytest.mark.parametrize("assignment", ["camera", "camera.fps", "fps=2", ".fps=2"])
def test_a_malformed_set_says_how_to_write_it(assignment: str) -> None:
    with pytest.raises(OptionError, match=r"NODE\.KEY=VALUE"):
        load_settings(sets=[assignment], env={})


def test_broker_url_priority_and_parsing(tmp_path: Path) -> None:
    config = write(tmp_path / "brain.toml", 'mqtt = "mqtt://file:1"\n')
    assert load_settings(config=config, env={}).url == BrokerUrl(host="file", port=1)
    from_env = load_settings(config=config, env={"BRAIN_MQTT_URL": "mqtts://u:p%40ss@env"})
    assert from_env.url == BrokerUrl(host="env", port=8883, tls=True, username="u", password="p@ss")
    assert str(from_env.url) == "mqtts://u@env:8883"  # the password never reaches a log
    assert load_settings(mqtt="mqtt://cli:2", config=config, env={}).url == BrokerUrl(
        host="cli", port=2
    )
    assert load_settings(env={}).url is None


def test_bad_config_files_and_urls_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="mqtt:// or mqtts://"):
        load_settings(mqtt="http://host", env={})
    with pytest.raises(OptionError, match="does not exist"):
        load_settings(config=tmp_path / "missing.toml", env={})
    broken = write(tmp_path / "broken.toml", "[camera\n")
    with pytest.raises(OptionError, match="not valid TOML"):
        load_settings(config=broken, env={})
    unknown = write(tmp_path / "unknown.toml", 'colour = "red"\n')
    with pytest.raises(OptionError, match="unknown key 'colour'; accepted outside"):
        load_settings(config=unknown, env={})


class TokenOptions(NodeOptions):
    bearer_token: str | None = None


def test_an_error_about_a_secret_does_not_repeat_it() -> None:
    settings = load_settings(sets=["twitter.bearer_token=12345678901234"], env={})
    with pytest.raises(OptionError) as raised:
        settings.options_for("twitter", TokenOptions)
    assert "twitter.bearer_token = (hidden)" in str(raised.value)
    assert "12345678901234" not in str(raised.value)


def test_set_values_become_the_environment_variables_that_say_the_same() -> None:
    environment = set_environment(["camera.fps=5", "camera.source=rtsp://door/stream"])
    assert environment == {"BRAIN_CAMERA_FPS": "5", "BRAIN_CAMERA_SOURCE": "rtsp://door/stream"}
    options = load_settings(env=environment).options_for("camera", CameraOptions)
    assert (options.fps, options.source) == (5.0, "rtsp://door/stream")  # type: ignore[attr-defined]


def test_named_tables_are_instances_of_a_node_each_with_its_own_options(tmp_path: Path) -> None:
    (tmp_path / "brain.toml").write_text(
        '[camera]\nfps = 5\n[camera.frontdoor]\nsource = "door.mp4"\n'
        '[camera.backyard]\nsource = "garden.mp4"\nfps = 1\n'
    )
    settings = load_settings(config=tmp_path / "brain.toml", env={}, sets=["camera.name=x"])
    assert settings.instances("camera", camera.CameraOptions) == [
        "camera:frontdoor", "camera:backyard",
    ]  # fmt: skip
    # A table that is an option is not an instance: the microphone's commands.
    (tmp_path / "mic.toml").write_text('[microphone]\ncommands = { "lights on" = "open" }\n')
    mic = load_settings(config=tmp_path / "mic.toml", env={})
    assert mic.instances("microphone", MicrophoneOptions) == []
    said = mic.options_for("microphone", MicrophoneOptions)
    assert said.model_dump()["commands"] == {"lights on": "open"}
    front = settings.options_for("camera:frontdoor", camera.CameraOptions)
    back = settings.options_for("camera:backyard", camera.CameraOptions)
    assert isinstance(front, camera.CameraOptions) and isinstance(back, camera.CameraOptions)
    assert (front.name, front.source, front.fps) == ("frontdoor", "door.mp4", 5)
    assert (back.name, back.source, back.fps) == ("backyard", "garden.mp4", 1)
    assert settings.user_of("camera:backyard") == "camera-backyard"
    assert (
        settings.options_for("camera", camera.CameraOptions).model_dump()["fps"] == 5
    )  # the tables are not keys
    # A name that is one of the section's options, not a table, is only a camera's name.
    fps = settings.options_for("camera:fps", camera.CameraOptions)
    assert fps.model_dump()["name"] == "fps" and fps.model_dump()["fps"] == 5
    with pytest.raises(OptionError, match="alerts runs once"):
        settings.options_for("alerts:door", AlertsOptions)
