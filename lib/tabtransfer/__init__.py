"""Helper package of the course on transfer learning for tabular data.

The course reads every sample as a point in an embedding space Z. This package
simulates the course data (an e-commerce source domain and a supermarket target
domain), builds the user embedding, aligns spaces, weights instances, fine-tunes
models, and estimates treatment effects with propensity score matching.

Importing the package registers a CJK font with matplotlib and sets the course's
plot style (see :func:`tabtransfer.plotting.set_style`).
"""

from tabtransfer.embedding import PurchaseEmbedding
from tabtransfer.participation import make_participation_model, participation_features, run_motivation
from tabtransfer.plotting import COLORS, set_style
from tabtransfer.simulation import CATEGORIES, CourseData, simulate_course_data

# --- exports of the transfer-method modules (alignment, distances, instance, finetune)
from tabtransfer.alignment import CORAL, coral
from tabtransfer.distances import coral_loss, mean_gap, mmd2, proxy_a_distance
from tabtransfer.finetune import FineTunedLogisticRegression
from tabtransfer.instance import (
    ImportanceWeights,
    domain_probability,
    importance_weights,
    make_domain_classifier,
    nearest_source_rows,
)
# --- end of transfer-method exports

__all__ = [
    "CATEGORIES",
    "COLORS",
    "CourseData",
    "PurchaseEmbedding",
    "make_participation_model",
    "participation_features",
    "run_motivation",
    "set_style",
    "simulate_course_data",
    "CORAL",
    "FineTunedLogisticRegression",
    "ImportanceWeights",
    "coral",
    "coral_loss",
    "domain_probability",
    "importance_weights",
    "make_domain_classifier",
    "mean_gap",
    "mmd2",
    "nearest_source_rows",
    "proxy_a_distance",
]

__version__ = "0.1.0"

set_style()
