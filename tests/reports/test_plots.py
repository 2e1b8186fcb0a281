"""Figure helpers of reports/plots.py."""


def test_line_styles_stay_distinct_past_ten_arms():
    """The quick mission draws 12 learned arms in the probe figure: no two may look alike."""
    from augbench.reports.plots import line_style

    styles = [tuple(sorted(line_style(k).items())) for k in range(18)]
    assert len(set(styles)) == 18
    assert line_style(0)["color"] == line_style(10)["color"] and line_style(0) != line_style(10)
