"""Marketing campaigns: candidates from the decision pipeline, portfolio optimization under budgets
and capacities, stratified control groups, and measurement of contacted vs holdout."""
