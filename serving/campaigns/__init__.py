"""Marketing campaigns on the served suggestions: planning and storing, exports, reports, the
rep actions they hand to reps, and the ``/v1/campaigns`` request handling."""
