"""The one markdown table helper every report uses."""

from __future__ import annotations

from mm_drex.markdown import markdown_table


def test_table_has_a_header_a_rule_with_alignment_and_one_line_per_row():
    table = markdown_table(["name", "n", "Sharpe"], [["SP500", 3, "0.52"]], align="lr")
    assert table.splitlines() == [
        "| name | n | Sharpe |",
        "|---|---:|---:|",
        "| SP500 | 3 | 0.52 |",
    ]


def test_default_alignment_is_left_and_empty_rows_give_the_header_only():
    assert markdown_table(["a", "b"], []) == "| a | b |\n|---|---|"
