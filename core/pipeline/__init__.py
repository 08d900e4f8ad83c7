"""The data path of one request: validate → plan → method → colour fix → faces → alpha → join (`engine`)."""
