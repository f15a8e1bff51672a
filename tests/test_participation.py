"""The chapter 1 story must hold in the simulated world for each seed tested."""

import pytest

import tabtransfer as tt


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_source_model_fails_on_target(seed):
    result = tt.run_motivation(seed=seed)
    assert result.accuracy_source > 0.75
    assert result.accuracy_drop > 0.05
    assert result.predicted_rate_target > result.participation_rate_target + 0.1


def test_source_model_beats_majority_on_source():
    result = tt.run_motivation(seed=0, n_source=20_000)
    # Source participation is close to 50 %, so the majority class scores about 0.5.
    assert result.accuracy_source > 0.7


def test_features_reject_misaligned_embedding():
    data = tt.simulate_course_data(n_source=200, n_target=50, seed=0)
    embedding = tt.PurchaseEmbedding(n_components=5).fit(data.source[data.purchase_columns])
    Z = embedding.transform(data.target[data.purchase_columns])
    with pytest.raises(ValueError, match="same index"):
        tt.participation_features(data.source.iloc[:50], Z)
