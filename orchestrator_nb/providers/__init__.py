"""Models: one small class per vendor (``base.Provider``), the registry, and the gateway every
model call of a run goes through (routing, fallbacks, cache, replay, records, cost)."""
