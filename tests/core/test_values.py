"""The grid's value types (augbench/core/values.py): one parser and one formatter each for budgets,
targets and arm names, the one rounding rule, and one clear UserError per bad input."""
import pytest

from augbench.core.errors import UserError
from augbench.core.values import (ArmName, Budget, Target, budget_sort_key, parse_budgets, parse_seeds,
                                  parse_targets, round_half_up)


@pytest.mark.parametrize("text", ["10", "1", "5%", "12.5%", "0.5%", "100%", "all"])
def test_a_budget_label_parses_back_to_itself(text):
    budget = Budget.parse(text)
    assert budget.label() == str(budget) == text
    assert Budget.parse(budget) is budget and Budget.parse(budget.label()) == budget


def test_equal_budgets_written_differently_are_one_budget():
    assert Budget.parse("12.50%") == Budget.parse("12.5%") == Budget(percent=12.5)
    assert Budget.parse("12.50%").label() == "12.5%"
    assert Budget.parse(10) == Budget.parse(" 10 ") == Budget(count=10)
    assert Budget.parse(None) == Budget.parse("ALL") == Budget()
    assert Budget.parse("100%") != Budget()  # the same images, but another budget (and hash) than 'all'
    assert parse_budgets("5%,5.0%,10") == [Budget(percent=5.0), Budget(count=10)]


def test_the_values_the_grid_id_always_hashed():
    assert [b.grid_value() for b in parse_budgets("10,5%,all")] == [10, "5%", None]


def test_rounding_is_half_up_and_a_fraction_keeps_at_least_one():
    # worked by hand: 12.5 % of 20 is 2.5 (Python's round would give 2), of 36 is 4.5, of 12 is 1.5
    assert round_half_up(2.5) == 3 and round_half_up(4.5) == 5 and round_half_up(2.49) == 2
    half = Budget.parse("12.5%")
    assert (half.images_for(20), half.images_for(36), half.images_for(12)) == (3, 5, 2)
    assert Budget.parse("5%").images_for(9) == 1  # 0.45 rounds to 0: one image kept, never an empty class
    assert Budget.parse(10).images_for(4) == 4 and Budget.parse(10).images_for(40) == 10
    assert Budget().images_for(40) == 40


def test_budgets_sort_counts_then_fractions_then_all():
    labels = ["all", "12.5%", "100", "5%", "10"]
    assert sorted(labels, key=budget_sort_key) == ["10", "100", "5%", "12.5%", "all"]
    assert sorted(["all", "weird", "5%"], key=budget_sort_key) == ["5%", "weird", "all"]  # unreadable: kept, not fatal
    assert Budget.read("weird") is None and Budget.read("5.0%") == Budget(percent=5.0)


@pytest.mark.parametrize("bad", ["0", "-5", "ten", "5.5", "0%", "150%", "x%", "", 2.5, True])
def test_a_bad_budget_is_one_user_error_that_says_how_to_write_one(bad):
    with pytest.raises(UserError) as caught:
        parse_budgets([bad]) if bad == "" else Budget.parse(bad)
    assert "budget" in caught.value.problem and "--budget" in caught.value.fix


@pytest.mark.parametrize("text", ["original", "balanced", "500", "ratio:0.5", "ratio:1", "ratio:0"])
def test_a_target_label_parses_back_to_itself(text):
    target = Target.parse(text)
    assert target.label() == str(target) == text and Target.parse(target) is target


def test_targets_written_differently_are_one_target():
    assert Target.parse("ratio:0.50") == Target.parse("RATIO:.5") == Target("ratio", ratio=0.5)
    assert Target.parse(500) == Target.parse("500") == Target("count", count=500)
    assert [t.label() for t in parse_targets("ratio:0.5,1,1.0")] == ["ratio:0.5", "ratio:1"]


@pytest.mark.parametrize("bad", ["lots", "0", "-3", "ratio:", "ratio:x", "ratio:-1", "ratio:inf", True])
def test_a_bad_target_is_one_user_error_that_says_how_to_write_one(bad):
    with pytest.raises(UserError) as caught:
        Target.parse(bad)
    assert "target" in caught.value.problem and "--target" in caught.value.fix


def test_seeds_parse_once_from_text_or_a_list():
    assert parse_seeds("0, 1,1") == [0, 1] and parse_seeds([3, "4"]) == [3, 4]
    for bad, words in (("a,b", "not integers"), ("0,-1", "seed -1 is negative"), ("", "no seed")):
        with pytest.raises(UserError, match=words) as caught:
            parse_seeds(bad)
        assert "--seeds 0,1,2" in caught.value.fix


@pytest.mark.parametrize("text,base,variant,scale", [("ddpm", "ddpm", None, None), ("ddpm@g3", "ddpm", "g3", None),
                                                      ("dcgan@4x", "dcgan", "4x", 4.0),
                                                      ("dcgan@0_5x", "dcgan", "0_5x", 0.5)])
def test_arm_names_split_into_base_and_variant(text, base, variant, scale):
    name = ArmName.parse(text)
    assert (name.base, name.variant, name.scale) == (base, variant, scale)
    assert name.label() == str(name) == text and ArmName.parse(name) is name


def test_a_compute_multiple_formats_to_the_variant_its_scale_reads_back():
    assert ArmName.scaled("dcgan", 1).label() == "dcgan"
    for multiple in (4, 0.5, 16, 2.5):
        assert ArmName.scaled("dcgan", multiple).scale == multiple
    assert ArmName.scaled("dcgan", 0.5).label() == "dcgan@0_5x"
