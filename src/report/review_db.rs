//! What the Markdown review says about the database rules: issue titles, impact, a fix in Rust,
//! the recommendation line, tests to add and references. Kept apart from `markdown.rs`, which
//! lays the review out, so that each rule's words sit together.

pub const DB_RULES: &[&str] = &[
    "unclosed-pool",
    "panicking-pool-creation",
    "hardcoded-pool-size",
    "error-swallowed-in-transaction",
    "non-atomic-batch-write",
    "sql-injection",
    "formatted-sql",
    "runtime-bound-static",
];

/// The review's words for one database rule.
pub struct DbText {
    pub title: &'static str,
    /// For the executive summary: "pools never closed (2)".
    pub noun: &'static str,
    /// For the review's scope line.
    pub scope: &'static str,
    pub impact: &'static [&'static str],
    pub fix_lead: &'static str,
    pub fix_code: &'static str,
    pub alternative: Option<&'static str>,
    /// The recommendation, with `{where}` for the place.
    pub action: &'static str,
    pub testing: &'static str,
    pub reference: &'static str,
}

pub fn text(rule: &str) -> Option<&'static DbText> {
    TEXTS.iter().find(|(id, _)| *id == rule).map(|(_, t)| t)
}

static TEXTS: &[(&str, DbText)] = &[
    (
        "unclosed-pool",
        DbText {
            title: "Connection Pool Never Closed",
            noun: "pools never closed",
            scope: "pools that are never closed (`unclosed-pool`)",
            impact: &[
                "Connections are not closed: they are dropped when the last pool handle goes, in whatever task happens to hold it, or simply cut when the process exits; the server sees unexpected disconnects and keeps backends until it notices",
                "A pool created per test or per call opens fresh connections every time; the server's connection slots run out (\"remaining connection slots are reserved\") long before the test suite or the load test ends",
                "Without a `close().await` on shutdown, in-flight statements are cut instead of being drained",
            ],
            fix_lead: "Close the pool on the shutdown path, after the server has stopped taking requests:",
            fix_code: "let pool = PgPoolOptions::new()\n    .max_connections(config.database.max_connections)\n    .connect(&config.database.url)\n    .await?;\nlet app = Router::new().with_state(AppState { db: pool.clone() });\naxum::serve(listener, app)\n    .with_graceful_shutdown(shutdown_signal())\n    .await?;\n// Drain and close the connections before the process exits.\npool.close().await;",
            alternative: Some(
                "in tests, use `#[sqlx::test]` (it hands each test a pool and cleans it up), or close the pool at the end of each test",
            ),
            action: "Close the pool on the shutdown path in {where}",
            testing: "**Shutdown test**: start the service, stop it through its shutdown path, and assert `pool.is_closed()`; in the test suite, count the server's connections (`SELECT count(*) FROM pg_stat_activity`) before and after and assert it comes back down",
            reference: "[sqlx::Pool::close](https://docs.rs/sqlx/latest/sqlx/struct.Pool.html#method.close)",
        },
    ),
    (
        "panicking-pool-creation",
        DbText {
            title: "Pool Creation or Connection Panics on Error",
            noun: "unwrapped pool and connection errors",
            scope: "unwrapped pool creation and connection errors (`panicking-pool-creation`)",
            impact: &[
                "A database outage, a failover or a wrong password turns into a panic in whichever request reaches this code first, instead of an error response",
                "The panic unwinds the request task: the client sees a dropped connection, and with `panic = \"abort\"` the whole service goes down",
                "Taking a connection from an exhausted pool times out under load; unwrapping that timeout crashes requests exactly when the service is busiest",
            ],
            fix_lead: "Propagate the error and let the caller answer with a proper status:",
            fix_code: "async fn handler(State(state): State<AppState>) -> Result<Json<Report>, AppError> {\n    let mut conn = state.db.acquire().await.map_err(AppError::Unavailable)?;\n    // ...\n}\n\nimpl IntoResponse for AppError {\n    fn into_response(self) -> Response {\n        (StatusCode::SERVICE_UNAVAILABLE, \"database unavailable\").into_response()\n    }\n}",
            alternative: Some(
                "create the pool once in `main` (where failing fast at start-up is right) and pass it in through the application state",
            ),
            action: "Replace `unwrap()`/`expect()` on pool and connection errors with `?` in {where}",
            testing: "**Outage test**: point the service at a stopped database (or a wrong port) and call each endpoint; every one must answer with an error status, none may panic",
            reference: "[sqlx::pool::PoolOptions](https://docs.rs/sqlx/latest/sqlx/pool/struct.PoolOptions.html)",
        },
    ),
    (
        "hardcoded-pool-size",
        DbText {
            title: "Hard-coded Connection Pool Settings",
            noun: "hard-coded pool settings",
            scope: "pool sizes and timeouts hard-coded in service code (`hardcoded-pool-size`)",
            impact: &[
                "Every environment gets the same pool: too small for production traffic, too large for a shared development database",
                "Changing the size needs a rebuild and a deploy instead of a configuration change, so nobody tunes it during an incident",
                "With several replicas, the total (replicas x size) can exceed the server's `max_connections` without anyone noticing",
            ],
            fix_lead: "Read the settings from configuration, keeping the literal only as a documented default:",
            fix_code: "#[derive(serde::Deserialize)]\npub struct DatabaseConfig {\n    pub url: String,\n    #[serde(default = \"default_max_connections\")]\n    pub max_connections: u32,\n    #[serde(default = \"default_acquire_timeout_secs\")]\n    pub acquire_timeout_secs: u64,\n}\n\nfn default_max_connections() -> u32 { 10 }\nfn default_acquire_timeout_secs() -> u64 { 3 }\n\nlet pool = PgPoolOptions::new()\n    .max_connections(cfg.max_connections)\n    .acquire_timeout(Duration::from_secs(cfg.acquire_timeout_secs))\n    .connect(&cfg.url)\n    .await?;",
            alternative: None,
            action: "Move the pool settings in {where} to configuration",
            testing: "**Configuration test**: load the configuration with and without the pool settings and assert the pool options built from it (size and timeouts) are the configured ones or the documented defaults",
            reference: "[sqlx::pool::PoolOptions::max_connections](https://docs.rs/sqlx/latest/sqlx/pool/struct.PoolOptions.html#method.max_connections)",
        },
    ),
    (
        "error-swallowed-in-transaction",
        DbText {
            title: "Error Swallowed Inside a Transaction",
            noun: "errors swallowed inside transactions",
            scope: "errors dropped inside transactions (`error-swallowed-in-transaction`)",
            impact: &[
                "In PostgreSQL the failed statement aborts the whole transaction: every later statement fails with \"current transaction is aborted, commands ignored until end of transaction block\" (SQLSTATE 25P02)",
                "`COMMIT` on an aborted transaction succeeds as a `ROLLBACK`: the rows written before the error are silently lost, while the code reports success",
                "The real error is logged once and then buried under a cascade of 25P02 errors, which makes the incident hard to diagnose",
            ],
            fix_lead: "Give each item a savepoint, so one bad item rolls back alone and the transaction goes on:",
            fix_code: "let mut tx = pool.begin().await?;\nfor item in items {\n    // `begin` on a transaction opens a savepoint.\n    let mut sp = tx.begin().await?;\n    match sqlx::query(\"INSERT INTO items (sku, qty) VALUES ($1, $2)\")\n        .bind(&item.sku)\n        .bind(item.qty)\n        .execute(&mut *sp)\n        .await\n    {\n        Ok(_) => sp.commit().await?,\n        // Dropping `sp` rolls back to the savepoint; the outer transaction stays usable.\n        Err(e) => tracing::warn!(sku = %item.sku, error = %e, \"skipping item\"),\n    }\n}\ntx.commit().await?;",
            alternative: Some(
                "if one failure should fail the batch, propagate the error with `?`: the transaction rolls back when it is dropped",
            ),
            action: "Propagate or savepoint the swallowed statement errors in {where}",
            testing: "**Partial-failure test**: run the batch with one item that violates a constraint; assert that either the whole batch is rolled back and an error is returned, or every other item was committed (with savepoints)",
            reference: "[PostgreSQL: SAVEPOINT](https://www.postgresql.org/docs/current/sql-savepoint.html)",
        },
    ),
    (
        "non-atomic-batch-write",
        DbText {
            title: "Batch Writes Without a Transaction",
            noun: "batch writes outside a transaction",
            scope: "batch writes outside a transaction (`non-atomic-batch-write`)",
            impact: &[
                "Each statement commits on its own: a failure half-way (a constraint, a timeout, a deploy) leaves half the batch written",
                "A retry of the whole batch then writes the first half again, or fails on it",
                "One round trip and one commit (a disk flush) per row makes large batches slow and holds a pooled connection the whole time",
            ],
            fix_lead: "Run the loop in one transaction and commit once:",
            fix_code: "let mut tx = pool.begin().await?;\nfor row in &rows {\n    sqlx::query(\"INSERT INTO items (sku, name) VALUES ($1, $2)\")\n        .bind(&row.sku)\n        .bind(&row.name)\n        .execute(&mut *tx)\n        .await?;\n}\ntx.commit().await?;",
            alternative: Some(
                "write the batch as one set-based statement: `INSERT INTO items (sku, name) SELECT * FROM UNNEST($1::text[], $2::text[])`, or sqlx's `QueryBuilder::push_values`",
            ),
            action: "Wrap the batch writes in {where} in one transaction",
            testing: "**Atomicity test**: make the n-th row of a batch fail (a duplicate key) and assert no row of the batch was written",
            reference: "[sqlx::Transaction](https://docs.rs/sqlx/latest/sqlx/struct.Transaction.html)",
        },
    ),
    (
        "sql-injection",
        DbText {
            title: "SQL Built From Runtime Values",
            noun: "SQL built from runtime values",
            scope: "SQL text built from runtime values (`sql-injection`)",
            impact: &[
                "A value containing a quote ends the string literal and rewrites the statement: data can be read, changed or deleted with the service's privileges",
                "Even harmless input breaks the query (an apostrophe in a name gives a syntax error)",
                "Every distinct value makes a new statement text, so nothing is prepared once and the server's plan cache is wasted",
            ],
            fix_lead: "Keep the SQL constant and bind the values:",
            fix_code: "let items = sqlx::query_as::<_, Item>(\n    \"SELECT sku, name FROM items WHERE category = $1 ORDER BY sku LIMIT $2\",\n)\n.bind(&q.category)\n.bind(limit)\n.fetch_all(&state.db)\n.await?;\n\n// Identifiers (a sort column) cannot be bound: pick them from a fixed list.\nlet order = match q.sort.as_str() {\n    \"name\" => \"name\",\n    _ => \"sku\",\n};",
            alternative: Some(
                "use `sqlx::query!`/`query_as!` so the statement is checked against the schema at compile time",
            ),
            action: "Replace the interpolated SQL in {where} with bind parameters",
            testing: "**Injection test**: call the endpoint with `' OR '1'='1` and `'; DROP TABLE x; --` as input and assert the query returns only the matching rows (none) and the table is intact",
            reference: "[OWASP: SQL Injection Prevention Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html)",
        },
    ),
    (
        "formatted-sql",
        DbText {
            title: "SQL Assembled With `format!`",
            noun: "SQL assembled with `format!`",
            scope: "SQL assembled at run time from constants (`formatted-sql`)",
            impact: &[
                "Not injectable today, but the statement is invisible to `sqlx::query!` checking and is re-parsed on every call",
                "The next change that interpolates a request field the same way becomes an injection, and looks like the code around it",
            ],
            fix_lead: "Write the statement as one literal and bind the numbers:",
            fix_code: "const LIST_OPEN: &str = concat!(\n    \"SELECT id, total_cents FROM orders \",\n    \"WHERE status = 'open' ORDER BY id LIMIT $1\",\n);\nlet rows = sqlx::query_as::<_, (i64, i64)>(LIST_OPEN).bind(limit).fetch_all(&pool).await?;",
            alternative: None,
            action: "Turn the assembled SQL in {where} into literals with bind parameters",
            testing: "**Query-check build**: build with `sqlx::query!` and `SQLX_OFFLINE=true` in CI so every statement is checked against the schema",
            reference: "[sqlx::query! (compile-time checked queries)](https://docs.rs/sqlx/latest/sqlx/macro.query.html)",
        },
    ),
    (
        "runtime-bound-static",
        DbText {
            title: "Runtime-bound Resource in a `static`",
            noun: "runtime-bound statics shared across test runtimes",
            scope: "pools and clients in statics shared across runtimes (`runtime-bound-static`)",
            impact: &[
                "Each `#[tokio::test]` builds its own runtime; the pool's connections (or the client's connection tasks) belong to the runtime of the test that created them",
                "When that test ends, its runtime drops those tasks: later tests fail with \"dispatch task is gone\", \"IO driver has terminated\" or `PoolTimedOut`",
                "The failures depend on test order and timing, so the suite is flaky rather than plainly red",
            ],
            fix_lead: "Give each test its own pool (or client):",
            fix_code: "#[sqlx::test]\nasync fn reserve_decrements_stock(pool: PgPool) -> sqlx::Result<()> {\n    // `#[sqlx::test]` creates (and cleans up) a pool for this test's runtime.\n    let repo = Repo::new(pool);\n    // ...\n    Ok(())\n}\n\n// Or build one per test:\nasync fn test_pool() -> PgPool {\n    PgPool::connect(&std::env::var(\"TEST_DATABASE_URL\").unwrap()).await.unwrap()\n}",
            alternative: Some(
                "if the static must stay, run all tests on one runtime that outlives them (a `static RUNTIME: LazyLock<Runtime>` and `RUNTIME.block_on(..)` in plain `#[test]` fns)",
            ),
            action: "Stop sharing the runtime-bound static in {where} across test runtimes",
            testing: "**Order test**: run the affected tests with `--test-threads=1` in both orders (`cargo test -- --exact a b`, then `b a`); both must pass",
            reference: "[sqlx issue #531: a pool shared between `#[tokio::test]` runtimes](https://github.com/launchbadge/sqlx/issues/531)",
        },
    ),
];
