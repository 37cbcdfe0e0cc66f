-- Attribute extraction: what a ticket records about extracting its technician notes
-- ({status, provider, model, prompt_version, extracted_at, error?, requested_at, decided_at?}).
-- extracted_attributes (since the tickets migration) holds the proposal.

ALTER TABLE tickets ADD COLUMN extraction jsonb;
ALTER TABLE tickets ADD CONSTRAINT tickets_extraction_object CHECK (
    extraction IS NULL
    OR (jsonb_typeof(extraction) = 'object'
        AND extraction ->> 'status' IN ('pending', 'proposed', 'confirmed', 'rejected', 'failed')));
