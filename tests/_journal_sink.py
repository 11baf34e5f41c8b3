"""A journal array sink for tests that encode records holding no arrays (``_journal_codec.encode``)."""


class NoArraysSink:
    """Refuses to keep an array (the record under test should hold none) and ignores CRC updates."""

    def keep(self, a):
        raise AssertionError("no stored arrays in these records")

    def crc(self, data):
        pass
