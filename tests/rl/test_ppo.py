"""PPO training: reproducible by seed, starts at the SFT router, never reads test."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mm_drex.rl.env import ActionConfig, BatchRoutingEnv, rollout
from mm_drex.rl.ppo import (
    ActorCritic,
    PPOConfig,
    block_mean_and_error,
    choose_checkpoint,
    kl_to_sft,
    segment_block_scores,
    segment_score,
    torch_policy,
)
from mm_drex.rl.reward import RewardConfig
from mm_drex.rl.training import (
    RLSettings,
)
from mm_drex.strategy.mmdrex import policy_path
from tests.market_panel import LIMITS, PARAMS, train_small_policies


@pytest.fixture(scope="module")
def trained(rl_arrays):
    return train_small_policies(rl_arrays)


def test_same_seed_gives_the_same_policy_and_the_same_exposures(rl_arrays, trained):
    result, policies = trained
    again, policies_again = train_small_policies(rl_arrays)
    for seed in (42, 43):
        first, second = (
            result.policies[seed].state_dict,
            again.policies[seed].state_dict,
        )
        assert first.keys() == second.keys()
        for name in first:
            torch.testing.assert_close(first[name], second[name], rtol=0, atol=0)
        path = policy_path(rl_arrays, policies, seed, ["val", "test"], LIMITS)
        path_again = policy_path(
            rl_arrays, policies_again, seed, ["val", "test"], LIMITS
        )
        np.testing.assert_array_equal(path.mixed_exposure, path_again.mixed_exposure)
    pd_log, pd_log_again = result.log, again.log
    np.testing.assert_array_equal(
        pd_log["val_score"].to_numpy(), pd_log_again["val_score"].to_numpy()
    )


def test_other_seeds_give_other_policies(trained):
    result, _ = trained
    first, second = result.policies[42].state_dict, result.policies[43].state_dict
    assert not torch.equal(first["actor.0.weight"], second["actor.0.weight"])


def test_checkpoint_and_penalties_are_chosen_by_the_validation_score(trained):
    result, policies = trained
    assert len(result.selection) == 2 and result.selection["chosen"].sum() == 1
    chosen = result.selection.loc[result.selection["chosen"], "val_score"].iloc[0]
    assert chosen == result.selection["val_score"].max()
    log = result.log[(result.log["seed"] == 43)]
    # the SFT router (iteration 0) is the first checkpoint
    assert log["val_score"].notna().sum() == 4
    best = log["val_score"].max()
    assert log.loc[log["selected"], "val_score"].iloc[0] == best
    assert policies.models.keys() == {42, 43}


def test_checkpoint_rules():
    means, errors = [0.50, 0.60, 0.70, 0.55], [0.1, 0.1, 0.15, 0.1]
    assert choose_checkpoint(means, errors, "best") == 2
    # the earliest within one standard error of the best: 0.60 >= 0.70 - 0.15
    assert choose_checkpoint(means, errors, "one_se") == 1
    assert choose_checkpoint(means, [0, 0, 0.0, 0], "one_se") == 2
    with pytest.raises(ValueError, match="checkpoint_rule"):
        choose_checkpoint(means, errors, "last")
    mean, error = block_mean_and_error(np.array([1.0, 3.0, np.nan]))
    assert mean == 2.0 and error == pytest.approx(
        np.std([1.0, 3.0], ddof=1) / np.sqrt(2)
    )
    assert block_mean_and_error(np.array([np.nan])) == (-np.inf, 0.0)


def test_block_scores_cut_each_run_into_contiguous_blocks(rl_arrays):
    env = BatchRoutingEnv(
        rl_arrays, RewardConfig(), LIMITS, ActionConfig(episode_bars=32)
    )
    runs = rl_arrays.segment_runs("val")
    sft = lambda obs: None  # noqa: E731
    whole, table = segment_score(env, sft, runs, "sharpe")
    one, _ = segment_block_scores(env, sft, runs, "sharpe", 1)
    assert one.tolist() == [whole]
    scores, blocks = segment_block_scores(env, sft, runs, "sharpe", 4)
    assert len(scores) == 4 and np.isfinite(scores).all()
    per_instrument = blocks.groupby("instrument", sort=False)["n_decisions"]
    assert per_instrument.sum().tolist() == table["n_decisions"].tolist()
    assert (per_instrument.max() - per_instrument.min() <= 1).all()
    by_market = blocks.groupby(["block", "market"])["sharpe"].mean()
    np.testing.assert_allclose(scores, by_market.groupby(level="block").mean())


def test_one_se_keeps_the_earliest_checkpoint_near_the_best(rl_arrays):
    result, _ = train_small_policies(
        rl_arrays, {"blocks": 4, "checkpoint_rule": "one_se"}
    )
    for seed, log in result.log.groupby("seed"):
        scored = log[log["val_score"].notna()]
        if seed == 42:  # the first seed ran every entry: the chosen one counts
            scored = scored[scored["entry"] == result.chosen_entry]
        best = scored.loc[scored["val_score"].idxmax()]
        earliest = scored[
            scored["val_score"] >= best["val_score"] - best["val_score_se"]
        ]
        assert scored.loc[scored["selected"], "iteration"].tolist() == [
            earliest["iteration"].iloc[0]
        ]
        assert (scored["val_score_se"] > 0).all()


def test_the_untrained_policy_is_the_sft_router(rl_arrays):
    action = ActionConfig(episode_bars=32)
    model = ActorCritic(40, action.action_dim, (16, 16), -1.0)
    mean, _ = model(torch.randn(5, 40))
    assert torch.equal(mean, torch.zeros_like(mean))
    log_sft = torch.randn(5, 4).log_softmax(-1)
    log_prior = torch.randn(5, 4, 3).log_softmax(-1)
    assert torch.allclose(
        kl_to_sft(mean, log_sft, log_prior, action), torch.zeros(5), atol=1e-6
    )
    shifted = kl_to_sft(
        mean + 1.0 * (torch.arange(action.action_dim) % 2), log_sft, log_prior, action
    )
    assert (shifted > 0).all()


def test_training_never_reads_the_test_segment(rl_arrays, trained):
    result, _ = trained
    test = rl_arrays.segment == "test"
    scrambled = dataclasses.replace(
        rl_arrays,
        z=np.where(test[:, None], -rl_arrays.z, rl_arrays.z).astype(np.float32),
        exposures=np.where(test[:, None], -rl_arrays.exposures, rl_arrays.exposures),
        intraday=np.where(test, 0.05, rl_arrays.intraday),
        overnight=np.where(test, -0.05, rl_arrays.overnight),
    )
    again, _ = train_small_policies(scrambled)
    for seed in (42, 43):
        for name, value in result.policies[seed].state_dict.items():
            torch.testing.assert_close(
                value, again.policies[seed].state_dict[name], rtol=0, atol=0
            )


def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match="learning_rat"):
        PPOConfig.from_params({"learning_rat": 0.1})
    with pytest.raises(ValueError, match="penalty_grid"):
        RLSettings.from_params(
            {**PARAMS, "selection": {"penalty_grid": [{"lambda_x": 1}]}}
        )


def test_trained_policy_changes_the_routing(rl_arrays, trained):
    _, policies = trained
    env = BatchRoutingEnv(rl_arrays, RewardConfig(), LIMITS, policies.action)
    runs = rl_arrays.segment_runs("val")
    trained_run = rollout(env, torch_policy(policies.model(42)), runs)
    sft_run = rollout(env, lambda obs: None, runs)
    assert not np.allclose(trained_run.weights, sft_run.weights)
