CREATE TABLE stream_counts (
    stream_id     text    PRIMARY KEY,
    events        integer NOT NULL,
    last_version  integer NOT NULL
);
