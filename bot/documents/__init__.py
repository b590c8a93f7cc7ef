"""The documents a round produces: Word reports, the data export and their wording."""
