"""Attribution: every model side by side on the same journeys, with honest intervals.

- :mod:`~pipeline.attribution.journeys` builds journeys from events (ibis, DuckDB);
- :mod:`~pipeline.attribution.paths` holds the array form models read, and the
  ``attribution_paths`` reader for aggregated path files;
- :mod:`~pipeline.attribution.heuristics`, :mod:`~pipeline.attribution.markov` and
  :mod:`~pipeline.attribution.shapley` are the models, run together by
  :func:`~pipeline.attribution.models.attribute`;
- :mod:`~pipeline.attribution.intervals` resamples journeys for bootstrap intervals;
- :mod:`~pipeline.attribution.klaviyo` replays Klaviyo's attribution rule;
- :mod:`~pipeline.attribution.pipeline_views` and
  :mod:`~pipeline.attribution.conversion_paths` are the pipeline and path views;
- :mod:`~pipeline.attribution.analysis` is the one call the CLI and the page use.
"""
