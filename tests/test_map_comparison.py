"""The twin comparison against values worked out by hand."""
import numpy as np
import pytest
from jaxtyping import TypeCheckError

from lessonkit.map_comparison import compare_maps


def test_largest_change_by_hand():
    first = np.array([[0.5, 0.5], [0.9, 0.1]])
    second = np.array([[0.6, 0.4], [0.2, 0.75]])
    result = compare_maps(first, second)
    np.testing.assert_allclose(result.difference, [[0.1, -0.1], [-0.7, 0.65]], atol=1e-12)
    assert (result.query, result.key) == (1, 0) and result.value == pytest.approx(-0.7)
    with pytest.raises((ValueError, TypeCheckError)):  # the shape hints catch it first while tests run
        compare_maps(first, np.zeros((3, 3)))
