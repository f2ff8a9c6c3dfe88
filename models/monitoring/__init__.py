"""Model monitoring: is the served model going stale?

Pure computations over frames: population stability of the features and the predicted values
between the model's training snapshot and the latest data (:mod:`.psi`, :mod:`.reference`),
realized against predicted conversion of logged decisions (:mod:`.calibration`), what users did
with the suggestions (:mod:`.feedback`), and the thresholds that turn each into a verdict
(:mod:`.thresholds`). :mod:`.report` puts them together; the command line and the service read the
decision log and feedback from their database and hand them in as frames.
"""
