from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import schemas
from schemas import EVENTS, ImageEvent, Perception, TranscriptEvent, render_schema, schema_filename


def image(**overrides: object) -> ImageEvent:
    fields = {
        "source": "frontdoor",
        "content_type": "image/jpeg",
        "data": b"\xff\xd8jpeg",
        "width": 4,
        "height": 3,
        "seq": 7,
    }
    return ImageEvent.model_validate({**fields, **overrides})


def image_from_wire(**overrides: object) -> ImageEvent:
    document = json.loads(image().to_json()) | overrides
    return ImageEvent.model_validate_json(json.dumps(document))


def test_an_event_survives_the_wire_unchanged() -> None:
    sent = image()
    received = ImageEvent.model_validate_json(sent.to_json())
    assert received == sent
    assert received.data == b"\xff\xd8jpeg"


def test_the_envelope_is_what_the_contract_says() -> None:
    document = json.loads(image().to_json())
    assert document["schema"] == "brain.image/1"
    assert document["ts"].endswith("Z")  # UTC, RFC 3339
    assert document["data"] == "/9hqcGVn"  # plain base64, no line breaks
    assert len({image().id for _ in range(100)}) == 100


def test_readers_ignore_fields_they_do_not_know() -> None:
    document = json.loads(image().to_json()) | {"added_in_a_later_version": 1}
    assert ImageEvent.model_validate_json(json.dumps(document)).seq == 7


def test_an_event_of_another_schema_is_refused() -> None:
    transcript = TranscriptEvent(source="kitchen", text="hello").to_json()
    with pytest.raises(ValidationError, match=r"brain\.image/1"):
        ImageEvent.model_validate_json(transcript)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"data": "not base64!"}, "valid base64"),
        ({"data": base64.b64encode(bytes(schemas.MAX_IMAGE_BYTES + 1)).decode()}, "at most"),
        ({"source": "a/b"}, "single MQTT topic level"),
        ({"width": 0}, "greater than 0"),
        ({"content_type": "image/gif"}, "image/jpeg"),
    ],
)
def test_bad_fields_are_refused_with_a_reason(overrides: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        image_from_wire(**overrides)


def test_python_callers_hand_over_bytes_not_base64_text() -> None:
    with pytest.raises(ValidationError, match="valid bytes"):
        image(data="/9j/")


def test_perception_labels_keep_their_order() -> None:
    perception = Perception.model_validate(
        {
            "source": "frontdoor",
            "cause": "abc",
            "sense": "camera",
            "kind": "vision",
            "labels": [
                {"label": "golden retriever", "score": 0.9},
                {"label": "cat", "score": 0.05},
            ],
            "text": "I see a golden retriever",
        }
    )
    assert [label.label for label in perception.labels] == ["golden retriever", "cat"]


def test_the_committed_json_schema_files_match_the_models() -> None:
    for event in EVENTS:
        committed = schemas.SCHEMA_DIR / schema_filename(event)
        assert committed.exists(), f"{committed.name} is missing: run `brain schema`"
        assert committed.read_text() == render_schema(event), f"{committed.name} is stale"


def test_brain_schema_writes_one_file_per_event_in_the_current_folder(tmp_path: Path) -> None:
    brain = Path(sys.executable).with_name("brain")  # as a user types it, anywhere
    result = subprocess.run(
        [str(brain), "schema"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    written = result.stdout.split()
    assert len(written) == len(EVENTS)
    assert sorted(path.name for path in (tmp_path / "schemas").iterdir()) == sorted(
        Path(path).name for path in written
    )
    image_schema = json.loads((schemas.SCHEMA_DIR / "brain.image.v1.schema.json").read_text())
    assert image_schema["properties"]["schema"]["const"] == "brain.image/1"
    check = subprocess.run(
        [sys.executable, "-m", "brain", "schema", "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
