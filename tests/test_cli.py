import pytest

from sklearn_mnist._cli import main


def test_demo_prints_a_classification_report(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "macro avg" in out
    accuracy = float(out.split("accuracy")[1].split()[0])
    assert accuracy > 0.93


def test_bad_command_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
