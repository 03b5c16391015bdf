-- 008_legacy_chat (down): drops the table 008 up created (its indexes, constraints and
-- trigger go with it).

DROP TABLE rooms;
