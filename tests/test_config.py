"""The settings reader: one error format naming group, key and value; values
converted by annotation; ranges checked on reading and on construction."""

from __future__ import annotations

import pytest

from mm_drex.backtest import BacktestSettings, ExposureLimits
from mm_drex.config import SettingsError
from mm_drex.reporting.settings import ReportingSettings
from mm_drex.rl.settings import RLSettings
from mm_drex.router.settings import RouterSettings
from mm_drex.strategy.inference import InferenceSettings


def test_unknown_key_names_the_group_the_key_and_its_value():
    with pytest.raises(SettingsError) as caught:
        BacktestSettings.from_params({"segmnt": "test"})
    message = str(caught.value)
    assert "parameters backtest: unknown keys ['segmnt']" in message
    assert "segmnt = 'test'" in message and "segment" in message


def test_nested_groups_are_named_by_their_path():
    with pytest.raises(SettingsError, match=r"parameters backtest\.limits: unknown"):
        BacktestSettings.from_params({"limits": {"max_exposure": 1.0}})
    with pytest.raises(
        SettingsError,
        match=r"parameters backtest\.limits\.max_abs_exposure = -1\.0: must be > 0",
    ):
        BacktestSettings.from_params({"limits": {"max_abs_exposure": -1}})


def test_wrong_type_and_out_of_choices_name_key_and_value():
    with pytest.raises(
        SettingsError,
        match=r"parameters router_sft\.training\.epochs = 'ten': must be an integer",
    ):
        RouterSettings.from_params({"training": {"epochs": "ten"}})
    with pytest.raises(
        SettingsError,
        match=r"parameters backtest\.segment = 'tset': must be one of \['train'",
    ):
        BacktestSettings.from_params({"segment": "tset"})
    with pytest.raises(SettingsError, match=r"reporting\.figure_dpi = True"):
        ReportingSettings.from_params({"figure_dpi": True})


def test_values_are_converted_by_annotation():
    settings = BacktestSettings.from_params(
        {
            "limits": {"max_abs_exposure": 1, "gross_leverage": None},
            "markets": {"stocks": ["index", "equity"]},
            "costs": {"override_bps": {"all": 20}},
        }
    )
    assert settings.limits.max_abs_exposure == 1.0
    assert isinstance(settings.limits.max_abs_exposure, float)
    assert settings.markets == {"stocks": ("index", "equity")}
    assert settings.cost_override_bps == {"all": 20.0}
    inference = InferenceSettings.from_params(
        {"as_of": "2020-03-16", "sleeve_start": ""}
    )
    assert (
        str(inference.as_of.date()) == "2020-03-16" and inference.sleeve_start is None
    )


def test_ranges_hold_for_settings_built_in_code_too():
    with pytest.raises(SettingsError, match="max_abs_exposure = 0: must be > 0"):
        ExposureLimits(max_abs_exposure=0)


def test_a_penalty_grid_entry_may_only_override_reward_or_ppo_keys():
    with pytest.raises(SettingsError, match=r"penalty_grid\[1\].*'lambda_x'"):
        RLSettings.from_params(
            {"seeds": [1], "selection": {"penalty_grid": [{}, {"lambda_x": 1}]}}
        )
    settings = RLSettings.from_params(
        {
            "seeds": [1],
            "selection": {"penalty_grid": [{"kl_coef": 1, "lambda_drawdown": 0}]},
        }
    )
    reward, ppo = settings.configured(settings.penalty_grid[0])
    assert ppo.kl_coef == 1.0 and reward.lambda_drawdown == 0.0


def test_backend_training_overrides_are_read_as_training_settings():
    settings = RouterSettings.from_params(
        {"training": {"epochs": 4}, "compact": {"training": {"epochs": 2}}}
    )
    assert settings.training_for("compact").epochs == 2
    with pytest.raises(SettingsError, match=r"router_sft\.compact\.training"):
        RouterSettings.from_params({"compact": {"training": {"epoch": 2}}})
    with pytest.raises(SettingsError, match=r"router_sft\.hf_vlm\.model_path = None"):
        RouterSettings.from_params({"backend": "hf_vlm"})


def test_an_empty_group_keeps_its_own_defaults():
    from mm_drex.experts.settings import ExpertSettings

    for soft_targets in (None, {}):
        settings = ExpertSettings.from_params({"soft_targets": soft_targets})
        assert settings.soft_targets.temperature == 0.05
        assert settings.pooling.temperature == 0.2


def test_an_empty_penalty_grid_trains_the_configuration_as_it_is():
    for grid in (None, []):
        settings = RLSettings.from_params(
            {"seeds": [1], "selection": {"penalty_grid": grid}}
        )
        assert settings.penalty_grid == ({},)


def test_an_asset_class_preset_may_give_any_key_of_its_instruments():
    from mm_drex.data.universe import resolve_universe

    (spec,) = resolve_universe(
        {
            "asset_classes": {
                "index": {
                    "periods_per_year": 252,
                    "cost_bps": 5,
                    "allow_short": True,
                    "source": "arch/sp500",
                    "validation": {"gap": "keep"},
                }
            },
            "universe": {"SPX": {"asset_class": "index"}},
        }
    )
    assert spec.source == "arch/sp500" and spec.validation == {"gap": "keep"}
    assert spec.cost_bps == 5.0 and isinstance(spec.periods_per_year, int)
