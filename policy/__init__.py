"""ferry's policy-as-code suite: Rego rules over plan JSON, checkov custom checks, plan review.

The plan review is split by concern: :mod:`policy.plan` plans an environment
offline, :mod:`policy.checks` runs checkov, :mod:`policy.summary` sums up what
a plan changes and holds the review's result, :mod:`policy.render` writes the
Markdown, SARIF and JUnit reports, and :mod:`policy.review` ties them together
(``python -m policy.review``).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class ReviewError(RuntimeError):
    """The review could not run (planning, checkov, or the Rego engine failed)."""
