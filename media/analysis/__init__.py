"""Posture analysis: pose estimation, the exercise library, rep counting, form rules, feedback.

The pure parts (angles, rep counter, rules, cues, tracker) run without I/O; ``live`` runs
them for live streams in worker threads and ``offline`` for video files.
"""
