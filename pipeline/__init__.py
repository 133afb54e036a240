"""Pipeline Lens: an e-commerce lead pipeline from the exports a store already has.

The package holds all logic (readers, stage rules, metrics, customer value,
attribution) and imports no Streamlit, so it can be tested and run in batch.
"""

__version__ = "0.1.0"
