"""The minority rule: which classes a budget touches, and the errors and warning that name the fix."""
import pytest

from augbench.core.errors import UserError
from augbench.datasets.minority import check_minority, resolve_minority, resolve_minority_names


def test_minority_warnings_and_errors_unit():
    assert check_minority("d", None, ["a", "b", "c"], [10, 50, 50]) == ([0], "")
    assert check_minority("d", ["b"], ["a", "b"], [50, 50]) == ([1], "")  # balanced: naming one class is fine
    minority, warning = check_minority("d", ["c"], ["a", "b", "c"], [10, 20, 90])
    assert minority == [2] and "more training images than every class left out" in warning
    with pytest.raises(UserError, match="no minority class"):
        check_minority("d", None, ["a", "b"], [50, 50])
    with pytest.raises(UserError, match="names every class"):
        check_minority("d", ["a", "b"], ["a", "b"], [10, 50])
    with pytest.raises(UserError, match="did you mean 'mel'"):
        check_minority("d", ["mell"], ["mel", "nv"], [10, 50])


def test_names_and_indices_resolve_to_the_same_classes():
    names = ["mel", "nv", "normal, benign"]
    assert resolve_minority_names(["mel", "2"], names) == [0, 2]
    assert resolve_minority_names(["0", "mel"], names) == [0]  # one class named twice counts once
    with pytest.raises(UserError, match="--minority 0"):  # a name with a comma is offered as its index
        resolve_minority_names(["cats"], ["normal, benign", "malignant"])


def test_a_fit_group_gets_the_runners_classes():
    # the default rule is decided on the counts passed in, not on a capped split
    assert resolve_minority(None, ["a", "b", "c"], [10, 50, 40]) == [0, 2]
    assert resolve_minority(["c"], ["a", "b", "c"], [10, 50, 40]) == [2]
    with pytest.raises(UserError, match="no minority class"):
        resolve_minority(None, ["a", "b"], [5, 5])
