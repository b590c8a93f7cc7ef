"""The files people write: a campaign, its questionnaire and its units (YAML, CSV, XLSX)."""
