"""The dead-letters service: records and reports the events consumers gave up on."""

from tradewind.services.deadletters.service import DeadLetterRecord, DeadLettersService

__all__ = ["DeadLetterRecord", "DeadLettersService"]
