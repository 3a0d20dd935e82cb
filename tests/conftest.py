"""Fixtures shared by the test modules."""

import numpy as np
import pytest


@pytest.fixture
def scored_messages():
    """200 messages, ~25% spam, with overlapping spam probabilities (a realistic, imperfect model)."""
    rng = np.random.default_rng(0)
    y_true = (rng.random(200) < 0.25).astype(int)
    p_spam = np.clip(rng.normal(0.3 + 0.4 * y_true, 0.18), 0, 1)
    return y_true, p_spam
