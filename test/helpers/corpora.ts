import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './mcp';
import { psql } from './pg';

/** The external corpora (inputs nobody on this project wrote), kept in the repository under test/corpora with their
 *  origins and licences, so a plain clone runs every test; DATATOOLS_CORPORA points at another folder of the same
 *  layout. A missing folder fails the tests that need it, never skips them. */
export const REPO_CORPORA = path.join(ROOT, 'test', 'corpora');
export const CORPORA = process.env.DATATOOLS_CORPORA || REPO_CORPORA;
/** One corpus folder: from DATATOOLS_CORPORA when it has it, else the repository's copy (said in one line, since
 *  another folder of corpora need not hold every one); missing in both is one clear error. */
export function corpus(name: string): string {
  const own = path.join(CORPORA, name);
  if (fs.existsSync(own)) return own;
  const repo = path.join(REPO_CORPORA, name);
  if (CORPORA !== REPO_CORPORA && fs.existsSync(repo)) {
    console.log(`corpora: ${CORPORA} has no ${name}; using the repository's copy in test/corpora/${name}`);
    return repo;
  }
  throw new Error(`the corpus ${name} is missing: neither ${own} nor ${repo} exists (test/corpora/README.md says where each comes from)`);
}

export const TPCH = corpus('tpch');
export const TPCH_TABLES = ['region', 'nation', 'supplier', 'customer', 'part', 'partsupp', 'orders', 'lineitem'];

/** Loads TPC-H SF 0.01 into database `db` (created here): dbgen's DDL, the .tbl data with the trailing '|' of every
 *  line stripped, then the keys dbgen's DDL lacks (without them PostgreSQL runs q17/q20's correlated subqueries as
 *  nested scans, minutes even in psql), and ANALYZE. */
export function loadTpch(adminUrl: string, db: string): void {
  psql(adminUrl, `CREATE DATABASE ${db}`);
  psql(adminUrl, fs.readFileSync(path.join(TPCH, 'schema.sql'), 'utf8'), db);
  for (const t of TPCH_TABLES) {
    const file = path.join(TPCH, 'data', `${t}.tbl`);
    psql(adminUrl, `\\copy ${t} FROM PROGRAM 'sed ''s/|$//'' ${file.replace(/'/g, "''")}' WITH (FORMAT text, DELIMITER '|')`, db);
  }
  psql(adminUrl, `ALTER TABLE region ADD PRIMARY KEY (r_regionkey); ALTER TABLE nation ADD PRIMARY KEY (n_nationkey);
    ALTER TABLE part ADD PRIMARY KEY (p_partkey); ALTER TABLE supplier ADD PRIMARY KEY (s_suppkey);
    ALTER TABLE partsupp ADD PRIMARY KEY (ps_partkey, ps_suppkey); ALTER TABLE customer ADD PRIMARY KEY (c_custkey);
    ALTER TABLE orders ADD PRIMARY KEY (o_orderkey); ALTER TABLE lineitem ADD PRIMARY KEY (l_orderkey, l_linenumber);
    CREATE INDEX ON lineitem (l_partkey, l_suppkey); ANALYZE`, db);
}
