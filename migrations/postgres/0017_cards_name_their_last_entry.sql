-- A card row names the ledger entry whose write made its state, and the
-- group commit checks it beside the version. The version alone could not
-- tell two writers apart: an operation queued behind its own writer's
-- pending write expects version v + 1, and another writer's write from v
-- makes v + 1 too; the queued operation then landed on a state that never
-- counted its predecessor (which conflicted and ran again, counting twice).
-- Only the write that made a state carries its entry id.
--
-- `commit_batch` takes two more arrays per card (the entry the first
-- operation expects, the entry of the last); every other step is that of
-- migration 0014. Cards never written since have NULL, which a reader
-- loads as "no entry yet", so the check holds across the upgrade.
ALTER TABLE loyalty.cards ADD COLUMN last_entry_id uuid;

DROP FUNCTION loyalty.commit_batch(
    int4[], uuid[], text[], text[], bytea[], int2[], bytea[], timestamptz[],
    int4[], uuid[],
    uuid[], int8[], int8[], int8[], int8[], jsonb[], timestamptz[],
    uuid[],
    uuid[], uuid[], uuid[], uuid[], uuid[], uuid[], int8[], text[], int8[], int8[], text[],
    int8[], int8[], text[], uuid[], uuid[], uuid[], uuid[], jsonb[], timestamptz[],
    bool[], date[], int8[], int8[], int8[], bool[],
    uuid[], uuid[], text[], jsonb[],
    timestamptz
);

CREATE FUNCTION loyalty.commit_batch(
    -- keyed operations
    p_i_op int4[], p_i_card uuid[], p_i_scope text[], p_i_key text[], p_i_fingerprint bytea[],
    p_i_status int2[], p_i_body bytea[], p_i_expires timestamptz[],
    -- operations on a stocked reward, in batch order
    p_s_op int4[], p_s_reward uuid[],
    -- one row per card
    p_c_id uuid[], p_c_expected int8[], p_c_version int8[], p_c_stamps int8[], p_c_points int8[],
    p_c_state jsonb[], p_c_next_expiry timestamptz[], p_c_expected_entry uuid[], p_c_entry uuid[],
    -- one row per operation: its card, its ledger row, its outbox row
    p_op_card uuid[],
    p_t_id uuid[], p_t_card uuid[], p_t_customer uuid[], p_t_business uuid[], p_t_store uuid[], p_t_program uuid[],
    p_t_program_version int8[], p_t_kind text[], p_t_stamps int8[], p_t_points int8[], p_t_counts text[],
    p_t_balance int8[], p_t_amount int8[], p_t_currency text[], p_t_reward uuid[], p_t_reverses uuid[],
    p_t_terminal uuid[], p_t_staff uuid[], p_t_metadata jsonb[], p_t_created timestamptz[],
    -- one row per operation: whether the commit counts it, and what it adds
    p_a_counted bool[], p_a_day date[], p_a_stamps int8[], p_a_points int8[], p_a_redeemed int8[],
    p_a_visit bool[],
    -- the outbox rows (each with its operation's card)
    p_o_event uuid[], p_o_card uuid[], p_o_topic text[], p_o_payload jsonb[],
    p_now timestamptz
) RETURNS SETOF uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_dups int4[];
    v_short int4[];
    v_updated uuid[];
    v_r record;
BEGIN
    -- (1) Idempotency records.
    WITH ins AS (
        INSERT INTO loyalty.idempotency (scope, key, fingerprint, status, body, created_at, expires_at)
        SELECT s, k, f, st, b, p_now, e
        FROM UNNEST(p_i_scope, p_i_key, p_i_fingerprint, p_i_status, p_i_body, p_i_expires) AS u(s, k, f, st, b, e)
        ON CONFLICT (scope, key) DO NOTHING
        RETURNING scope, key
    )
    SELECT array_agg(u.op ORDER BY u.op) INTO v_dups
    FROM UNNEST(p_i_op, p_i_scope, p_i_key) AS u(op, s, k)
    WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.scope = u.s AND ins.key = u.k);
    IF v_dups IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZD001', MESSAGE = array_to_string(v_dups, ',');
    END IF;

    -- (2) Stock, in batch order: an operation `op` takes one unit (refused
    -- when none is left); `-(op + 1)` gives one back (a cancelled
    -- redemption; rewards without a stock are left alone).
    FOR v_r IN SELECT op, reward FROM UNNEST(p_s_op, p_s_reward) AS u(op, reward)
               ORDER BY CASE WHEN op < 0 THEN -op - 1 ELSE op END LOOP
        IF v_r.op < 0 THEN
            UPDATE loyalty.rewards SET stock = stock + 1 WHERE id = v_r.reward AND stock IS NOT NULL;
        ELSE
            UPDATE loyalty.rewards SET stock = stock - 1 WHERE id = v_r.reward AND stock > 0;
            IF NOT FOUND THEN
                v_short := v_short || v_r.op;
            END IF;
        END IF;
    END LOOP;
    IF v_short IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'ZS001', MESSAGE = array_to_string(v_short, ',');
    END IF;

    -- (3) One update per card: checked against the state before its first
    -- operation (version and the entry that made it), written with the state
    -- after its last (and that operation's entry).
    WITH up AS (
        UPDATE loyalty.cards AS c
        SET stamps = u.stamps, points = u.points, state = u.state, version = u.new_version,
            next_expiry_at = u.next_expiry_at, last_entry_id = u.entry, updated_at = p_now
        FROM UNNEST(p_c_id, p_c_expected, p_c_version, p_c_stamps, p_c_points, p_c_state, p_c_next_expiry,
                    p_c_expected_entry, p_c_entry)
             AS u(id, expected, new_version, stamps, points, state, next_expiry_at, expected_entry, entry)
        WHERE c.id = u.id AND c.version = u.expected AND c.last_entry_id IS NOT DISTINCT FROM u.expected_entry
        RETURNING c.id
    )
    SELECT coalesce(array_agg(up.id), '{}') INTO v_updated FROM up;

    -- (4) Conflicted cards keep no idempotency record.
    DELETE FROM loyalty.idempotency i
    USING UNNEST(p_i_card, p_i_scope, p_i_key) AS u(c, s, k)
    WHERE i.scope = u.s AND i.key = u.k AND NOT (u.c = ANY (v_updated));

    -- (5) Ledger and outbox rows of what committed.
    INSERT INTO loyalty.transactions (id, card_id, customer_id, business_id, store_id, program_id,
        program_version, kind, stamps_delta, points_delta, counts, balance_after, amount_minor, currency,
        reward_id, reverses_id, terminal_id, staff_id, metadata, created_at)
    SELECT id, card, customer, business, store, program, program_version, kind, stamps, points, counts, balance,
        amount, currency, reward, reverses, terminal, staff, metadata, created
    FROM UNNEST(p_op_card, p_t_id, p_t_card, p_t_customer, p_t_business, p_t_store, p_t_program,
        p_t_program_version, p_t_kind, p_t_stamps, p_t_points, p_t_counts, p_t_balance, p_t_amount, p_t_currency,
        p_t_reward, p_t_reverses, p_t_terminal, p_t_staff, p_t_metadata, p_t_created)
        AS u(op_card, id, card, customer, business, store, program, program_version, kind, stamps, points, counts,
             balance, amount, currency, reward, reverses, terminal, staff, metadata, created)
    WHERE u.op_card = ANY (v_updated);

    INSERT INTO loyalty.outbox (event_id, card_id, topic, payload, created_at)
    SELECT e, c, t, p, p_now
    FROM UNNEST(p_o_event, p_o_card, p_o_topic, p_o_payload) AS u(e, c, t, p)
    WHERE u.c = ANY (v_updated);

    -- (6) The daily analytics of what committed, rows in key order (the lock
    -- order, should two writers touch the same rows).
    IF true = ANY (p_a_counted) THEN
        WITH c AS (
            SELECT u.business, coalesce(u.store, '00000000-0000-0000-0000-000000000000'::uuid) AS store,
                u.program, u.day, u.customer, u.stamps, u.points, u.redeemed, u.visit, u.ord
            FROM UNNEST(p_op_card, p_a_counted, p_t_business, p_t_store, p_t_program, p_a_day, p_t_customer,
                p_a_stamps, p_a_points, p_a_redeemed, p_a_visit) WITH ORDINALITY
                AS u(op_card, counted, business, store, program, day, customer, stamps, points, redeemed, visit, ord)
            WHERE u.counted AND u.op_card = ANY (v_updated)
        ),
        active AS (
            INSERT INTO analytics.daily_customers (business_id, store_id, program_id, day, customer_id)
            SELECT DISTINCT business, store, program, day, customer FROM c WHERE visit ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT DO NOTHING
            RETURNING business_id, store_id, program_id, day
        ),
        firsts AS (
            -- A customer new to the business counts on the row of their first
            -- visit in the batch.
            SELECT DISTINCT ON (business, customer) business, customer, store, program, day
            FROM c WHERE visit ORDER BY business, customer, ord
        ),
        fresh AS (
            INSERT INTO analytics.first_seen (business_id, customer_id, day)
            SELECT business, customer, day FROM firsts ORDER BY 1, 2
            ON CONFLICT DO NOTHING
            RETURNING business_id, customer_id
        ),
        parts AS (
            SELECT business, store, program, day, stamps, points, redeemed, 0 AS act, 0 AS fresh_count FROM c
            UNION ALL
            SELECT business_id, store_id, program_id, day, 0, 0, 0, 1, 0 FROM active
            UNION ALL
            SELECT f.business, f.store, f.program, f.day, 0, 0, 0, 0, 1
            FROM firsts f JOIN fresh ON fresh.business_id = f.business AND fresh.customer_id = f.customer
        )
        INSERT INTO analytics.daily_aggregates AS a
            (business_id, store_id, program_id, day, stamps_issued, points_earned, rewards_redeemed,
             active_customers, new_customers)
        SELECT business, store, program, day, sum(stamps)::int8, sum(points)::int8, sum(redeemed)::int8,
            sum(act)::int8, sum(fresh_count)::int8
        FROM parts GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (business_id, store_id, program_id, day) DO UPDATE SET
            stamps_issued = a.stamps_issued + excluded.stamps_issued,
            points_earned = a.points_earned + excluded.points_earned,
            rewards_redeemed = a.rewards_redeemed + excluded.rewards_redeemed,
            active_customers = a.active_customers + excluded.active_customers,
            new_customers = a.new_customers + excluded.new_customers;
    END IF;

    RETURN QUERY SELECT unnest(v_updated);
END
$$;
