"""Marketing campaigns on the served suggestions: planning and storing, exports, reports and the
rep actions they hand to reps (``/v1/campaigns`` is in ``serving.api``)."""
