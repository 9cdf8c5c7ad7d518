"""The compression report and ``python -m tinygrad_edu compress``: one --quick run (a few
seconds) whose rows are checked against what each method must give."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_edu import cli, nn
from tinygrad_edu.compress import format_report, sparse_size_bytes
from tinygrad_edu.compress.report import PRUNE_RATES, STUDENT_HIDDEN, compression_report

METHODS = ["float32 CNN", "pruned 50% + fine-tune", "pruned 80% + fine-tune", "int8 CNN", "student alone",
           "student distilled"]


@pytest.fixture(scope="module")
def quick_rows():
    return compression_report(epochs=2, finetune_epochs=1, repeats=2)


def dense_bytes(model):
    return sum(t.data.nbytes for t in model.state_dict().values())


def test_rows_cover_every_method_with_plausible_numbers(quick_rows):
    rows = {row["method"]: row for row in quick_rows}
    assert list(rows) == METHODS
    for row in quick_rows:
        assert 0.7 < row["accuracy"] <= 1.0, row  # ten classes: chance is 0.1; two epochs reach > 0.9
    cnn = cli.build_model("cnn", (1, 8, 8))
    assert rows["float32 CNN"]["size_bytes"] == dense_bytes(cnn) == 4 * 6090
    student = nn.Sequential(nn.Flatten(), nn.Linear(64, STUDENT_HIDDEN), nn.ReLU(), nn.Linear(STUDENT_HIDDEN, 10))
    assert rows["student alone"]["size_bytes"] == rows["student distilled"]["size_bytes"] == dense_bytes(student)
    assert rows["int8 CNN"]["size_bytes"] < 0.3 * rows["float32 CNN"]["size_bytes"]
    for method in ("float32 CNN", "int8 CNN"):
        assert 0 < rows[method]["layers_ms"] < rows[method]["ms"]  # the conv/linear layers are part of the forward


def test_pruned_rows_report_exact_sparsity_and_sparse_bytes(quick_rows):
    weights = 16 * 9 + 32 * 16 * 9 + 10 * 128  # the CNN's conv and linear weights
    biases = 16 + 32 + 10
    for rate, row in zip(PRUNE_RATES, quick_rows[1:3]):
        kept = weights - round(rate * weights)
        assert row["sparsity"] == round(rate * weights) / weights
        # bitmask per pruned tensor + kept float32 values + dense float32 biases
        bitmask = sum(-(-n // 8) for n in (16 * 9, 32 * 16 * 9, 10 * 128))
        assert row["sparse_bytes"] == bitmask + 4 * kept + 4 * biases
        assert row["size_bytes"] == 4 * (weights + biases)  # after remove_pruning: dense again


def test_sparse_size_bytes_of_an_unpruned_model_is_its_dense_size():
    model = cli.build_model("cnn", (1, 8, 8))
    assert sparse_size_bytes(model) == dense_bytes(model)


def test_format_report_aligns_columns_and_leaves_missing_cells_empty():
    rows = [{"method": "a", "accuracy": 0.5, "size_bytes": 1234567, "ms": 1.0, "note": "x"},
            {"method": "longer name", "accuracy": 1.0, "size_bytes": 12, "sparsity": 0.5, "sparse_bytes": 7}]
    lines = format_report(rows).splitlines()
    assert lines[0].split() == ["method", "test", "acc", "sparsity", "bytes", "(dense)", "bytes", "(sparse)",
                                "ms/forward", "note"]
    assert set(lines[1]) == {"-"}
    assert lines[2].split() == ["a", "0.5000", "1,234,567", "1.00", "x"]
    assert lines[3].split() == ["longer", "name", "1.0000", "50%", "12", "7"]
    accuracy_end = lines[0].index("test acc") + len("test acc")
    assert all(line[accuracy_end - 6:accuracy_end] in ("0.5000", "1.0000") for line in lines[2:])


def test_report_rejects_bad_epochs():
    with pytest.raises(ValueError, match="epochs"):
        compression_report(epochs=0)


def test_cli_compress_quick_prints_the_table(capsys):
    assert cli.main(["compress", "--quick", "--epochs", "1", "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    for method in METHODS:
        assert method in printed
    table = [line for line in printed.splitlines() if line.startswith(("float32", "int8"))]
    assert len(table) == 2 and all(np.isfinite(float(line.split()[2])) for line in table)


def test_cli_compress_help_and_errors(capsys):
    with pytest.raises(SystemExit):
        cli.main(["compress", "--help"])
    help_text = capsys.readouterr().out
    assert "--epochs" in help_text and "--seed" in help_text and "--quick" in help_text
    assert cli.main(["compress", "--epochs", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m tinygrad_edu compress: error:") and "epochs" in err[0]
