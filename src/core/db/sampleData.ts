/** The embedded sample database, built from the seed's examples: users, user_behavior, raw_logs (~100k rows).
 *  Deterministic: every value derives from the row number, so every start builds the same data. */
export const SAMPLE_SQL = `
CREATE TABLE users (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL UNIQUE,
  country char(2) NOT NULL,
  plan text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'team')),
  signup_date date NOT NULL,
  is_active boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE users IS 'Registered users of the product';
COMMENT ON COLUMN users.plan IS 'Subscription plan: free, pro or team';
INSERT INTO users
SELECT i,
  (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Margaret','Ken','Frances','John'])[1 + i % 10] || ' ' ||
  (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Hamilton','Thompson','Allen','Backus'])[1 + (i / 10) % 10],
  'user' || i || '@example.com',
  (ARRAY['DE','FR','US','JP','BR','IN','NG','GB'])[1 + (i * 7) % 8],
  (ARRAY['free','free','free','pro','pro','team'])[1 + (i * 13) % 6],
  DATE '2023-01-01' + ((i * 37) % 1000),
  (i % 11) <> 0
FROM generate_series(1, 2000) AS i;

CREATE TABLE user_behavior (
  id bigint PRIMARY KEY,
  user_id integer NOT NULL REFERENCES users(id),
  event_type text NOT NULL,
  page text,
  duration_seconds numeric(8,2),
  occurred_at timestamptz NOT NULL
);
COMMENT ON TABLE user_behavior IS 'Product events: views, clicks, purchases';
CREATE INDEX user_behavior_user_id_idx ON user_behavior (user_id);
CREATE INDEX user_behavior_occurred_at_idx ON user_behavior (occurred_at);
INSERT INTO user_behavior
SELECT i,
  1 + (i * 7919) % 2000,
  (ARRAY['view','view','view','click','click','search','add_to_cart','purchase'])[1 + (i * 31) % 8],
  (ARRAY['/','/pricing','/docs','/blog','/checkout','/account'])[1 + (i * 17) % 6],
  CASE WHEN i % 13 = 0 THEN NULL ELSE round(((i * 7) % 6000) / 10.0, 2) END,
  TIMESTAMPTZ '2025-01-01 00:00:00+00' + make_interval(secs => (i * 523) % 31536000)
FROM generate_series(1, 60000) AS i;

CREATE TABLE raw_logs (
  id bigint PRIMARY KEY,
  logged_at timestamptz NOT NULL,
  level text NOT NULL,
  service text NOT NULL,
  message text NOT NULL,
  payload jsonb
);
COMMENT ON TABLE raw_logs IS 'Raw application logs, one JSON payload per line';
INSERT INTO raw_logs
SELECT i,
  TIMESTAMPTZ '2025-06-01 00:00:00+00' + make_interval(secs => i * 60),
  (ARRAY['INFO','INFO','INFO','INFO','WARN','ERROR'])[1 + (i * 11) % 6],
  (ARRAY['api','auth','billing','search'])[1 + (i * 3) % 4],
  'request ' || i || ' handled',
  jsonb_build_object('status', (ARRAY[200,200,200,201,404,500])[1 + (i * 11) % 6], 'latency_ms', (i * 37) % 900, 'user_id', 1 + (i * 7919) % 2000)
FROM generate_series(1, 40000) AS i;
ANALYZE;
`;
