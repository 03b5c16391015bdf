-- 009_platform (down): drops the table 009 up created (its indexes and constraints go with it).

DROP TABLE audit_logs;
