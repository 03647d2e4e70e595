-- Rows answered for while others of their piece still wait, as spans of consecutive row ids
-- `first_id .. end_id`: a batch the server answered is one span. Noted a row at a time, every
-- batch read back and rewrote its piece's whole list, up to 65 536 ids, twice.
CREATE TABLE settled_spans (
    first_id INTEGER PRIMARY KEY,
    end_id INTEGER NOT NULL
);
-- Consecutive ids of one piece (the id's bits above the 20 of a row's place) make one span.
INSERT INTO settled_spans (first_id, end_id)
SELECT MIN(id), MAX(id) + 1
FROM (SELECT id, id - ROW_NUMBER() OVER (ORDER BY id) AS run FROM settled_rows)
GROUP BY id >> 20, run;
DROP TABLE settled_rows;
