"""tg.save / tg.load: safetensors files readable by the safetensors NumPy and PyTorch loaders and back."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import load_file as np_load_file

import tinygrad_edu as tg
from tinygrad_edu import serialization


def state_dict() -> dict[str, tg.Tensor]:
    rng = np.random.default_rng(0)
    return {
        "fc1.weight": tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32)),
        "fc1.bias": tg.Tensor(rng.standard_normal(4)),  # float64 stays float64
        "bn.num_batches_tracked": tg.tensor(7),  # 0-d int64
        "mask": tg.Tensor(np.array([True, False])),
        "empty": tg.zeros(0, 3),
        "transposed": tg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3).T),  # non-contiguous
    }


def checkpoint() -> dict:
    return {
        "model": state_dict(),
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": tg.ones(4, 3)}, 1: {"step": 3, "exp_avg": tg.zeros(4)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False, "params": [0, 1]}],
        },
        "scheduler": {"best": float("inf"), "last_epoch": 2, "_last_lr": [0.001]},
        "epoch": 3,
        "history": {"loss": [1.5, 0.75], "val_accuracy": [0.5, 0.8]},
        "rng": np.random.default_rng(5).bit_generator.state,  # 128-bit integers
        "note": None,
        "raw": np.arange(3, dtype=np.int32),
    }


def assert_same(a, b):
    """Structural equality with tensors compared by dtype, shape and value."""
    if isinstance(a, (tg.Tensor, np.ndarray)):
        assert type(a) is type(b)
        a_arr, b_arr = np.asarray(getattr(a, "data", a)), np.asarray(getattr(b, "data", b))
        assert a_arr.dtype == b_arr.dtype and a_arr.shape == b_arr.shape
        np.testing.assert_array_equal(a_arr, b_arr)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b and type(a) is type(b)


def test_state_dict_round_trip_and_numpy_loader(tmp_path):
    sd = state_dict()
    tg.save(sd, tmp_path / "model.safetensors")
    assert_same(tg.load(tmp_path / "model.safetensors"), sd)
    loaded = np_load_file(str(tmp_path / "model.safetensors"))
    assert set(loaded) == set(sd)
    for name, tensor in sd.items():
        assert loaded[name].dtype == tensor.dtype
        np.testing.assert_array_equal(loaded[name], tensor.data)


def test_file_layout_follows_the_spec(tmp_path):
    tg.save({"w": tg.Tensor(np.array([1.0, 2.0], dtype=np.float32))}, tmp_path / "w.safetensors")
    raw = (tmp_path / "w.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header == {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    assert (8 + n) % 8 == 0  # data section aligned
    assert raw[8 + n:] == np.array([1.0, 2.0], dtype="<f4").tobytes()


@pytest.mark.torch
def test_torch_loader_reads_our_files(tmp_path):
    pytest.importorskip("torch")
    from safetensors.torch import load_file as torch_load_file

    sd = state_dict()
    tg.save(sd, tmp_path / "model.safetensors")
    loaded = torch_load_file(str(tmp_path / "model.safetensors"))
    for name, tensor in sd.items():
        assert loaded[name].numpy().dtype == tensor.dtype
        np.testing.assert_array_equal(loaded[name].numpy(), tensor.data)
    tg.save(checkpoint(), tmp_path / "ckpt.safetensors")
    nested = torch_load_file(str(tmp_path / "ckpt.safetensors"))
    np.testing.assert_array_equal(nested["optimizer.state.0.exp_avg"].numpy(), np.ones((4, 3), np.float32))
    np.testing.assert_array_equal(nested["model.fc1.weight"].numpy(), state_dict()["fc1.weight"].data)


@pytest.mark.torch
def test_we_read_files_written_by_torch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as torch_save_file

    src = {"weight": torch.randn(3, 2, dtype=torch.float64), "idx": torch.arange(4), "h": torch.ones(2).half()}
    torch_save_file(src, str(tmp_path / "t.safetensors"), metadata={"format": "pt"})
    loaded = tg.load(tmp_path / "t.safetensors")
    assert set(loaded) == set(src)
    for name, tensor in src.items():
        assert isinstance(loaded[name], tg.Tensor)
        assert loaded[name].dtype == tensor.numpy().dtype
        np.testing.assert_array_equal(loaded[name].numpy(), tensor.numpy())


def test_nested_checkpoint_round_trip_keeps_types(tmp_path):
    ckpt = checkpoint()
    tg.save(ckpt, tmp_path / "ckpt.safetensors")
    loaded = tg.load(tmp_path / "ckpt.safetensors")
    assert_same(loaded, ckpt)
    assert list(loaded["optimizer"]["state"]) == [0, 1]  # int keys survive
    assert isinstance(loaded["optimizer"]["param_groups"][0]["betas"], tuple)
    assert loaded["scheduler"]["best"] == float("inf")
    rng = np.random.default_rng()
    rng.bit_generator.state = loaded["rng"]
    assert rng.random() == np.random.default_rng(5).random()


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    tg.save({"w": tg.ones(2)}, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(serialization.os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        tg.save({"w": tg.zeros(1000)}, path)
    assert path.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # temp file removed


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "huge_header", "bad_json", "short_data"])
def test_corrupt_files_raise_value_error_naming_the_file(tmp_path, damage):
    path = tmp_path / f"{damage}.safetensors"
    tg.save(state_dict(), path)
    raw = path.read_bytes()
    broken = {
        "truncated": raw[: len(raw) // 2],
        "garbage": b"\x89PNG\r\n\x1a\n" + bytes(range(200)),
        "empty": b"",
        "huge_header": struct.pack("<Q", 10**12) + raw[8:],
        "bad_json": raw[:8] + b"{" * struct.unpack("<Q", raw[:8])[0] + raw[8 + struct.unpack("<Q", raw[:8])[0]:],
        "short_data": raw[:-4],
    }[damage]
    path.write_bytes(broken)
    with pytest.raises(ValueError, match=damage):
        tg.load(path)


def test_unsupported_values_are_refused(tmp_path):
    with pytest.raises(TypeError, match="dict"):
        tg.save([tg.ones(1)], tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="object"):
        tg.save({"f": object()}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match=r"'a\.b'"):
        tg.save({"a": {"b": tg.ones(1)}, "a.b": tg.ones(1), "n": 1}, tmp_path / "x.safetensors")


def test_user_metadata_round_trip(tmp_path):
    path = tmp_path / "m.safetensors"
    tg.save(state_dict(), path, metadata={"model": "cnn", "classes": "10"})
    assert serialization.load_metadata(path) == {"model": "cnn", "classes": "10"}
    assert_same(tg.load(path), state_dict())
    tg.save(checkpoint(), path, metadata={"note": "nested"})
    assert serialization.load_metadata(path) == {"note": "nested"}
    with pytest.raises(ValueError, match="str to str"):
        tg.save(state_dict(), path, metadata={"epochs": 3})
