"""helpers.datasets: shapes, ranges, determinism and class balance."""

import numpy as np
import pytest

from helpers import datasets


def test_two_scales_matches_the_slide_ranges():
    X, y = datasets.two_scales(500, seed=0)
    assert X.shape == (2, 500) and y.shape == (1, 500)
    assert 1 <= X[0].min() and X[0].max() <= 1000 and X[0].max() > 900
    assert 0 <= X[1].min() and X[1].max() <= 1
    # the features differ in spread by more than two orders of magnitude
    assert X[0].std() / X[1].std() > 100


def test_comparable_ranges():
    X = datasets.comparable_ranges(400, seed=1)
    lo, hi = X.min(axis=1), X.max(axis=1)
    assert np.all(lo >= [0, -1, 1]) and np.all(hi <= [1, 1, 2])


@pytest.mark.parametrize("make", [datasets.moons, datasets.circles])
def test_classification_sets_are_balanced_and_seeded(make):
    X, Y = make(301, seed=3)
    assert X.shape == (2, 301) and Y.shape == (1, 301)
    assert set(np.unique(Y)) == {0.0, 1.0}
    assert abs(Y.sum() - 150.5) <= 0.5
    X2, Y2 = make(301, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(Y, Y2)
    X3, _ = make(301, seed=4)
    assert not np.array_equal(X, X3)


def test_circles_radii():
    X, Y = datasets.circles(400, noise=0.0, factor=0.3, seed=0)
    r = np.linalg.norm(X, axis=0)
    assert np.allclose(r[Y[0] == 0], 1.0) and np.allclose(r[Y[0] == 1], 0.3)


def test_train_test_split_partitions_columns():
    X = np.arange(20.0).reshape(2, 10)
    Y = np.arange(10.0).reshape(1, 10)
    Xtr, Xte, Ytr, Yte = datasets.train_test_split(X, Y, test_fraction=0.3, seed=0)
    assert Xtr.shape == (2, 7) and Xte.shape == (2, 3)
    assert sorted(np.concatenate([Ytr[0], Yte[0]])) == list(range(10))
    assert np.array_equal(Xtr[1] - 10, Ytr[0])


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: datasets.moons(0), "m must be"),
        (lambda: datasets.moons(10, noise=-1), "noise"),
        (lambda: datasets.circles(10, factor=1.5), "factor"),
        (lambda: datasets.train_test_split(np.zeros((2, 4)), test_fraction=1.2), "test_fraction"),
        (lambda: datasets.train_test_split(np.zeros((2, 4)), np.zeros((1, 3))), "Y must have shape"),
    ],
)
def test_bad_arguments(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()
