//! The web and database stack: Apache, nginx, PHP, MariaDB, PostgreSQL.

use super::{FindingKind, When};
use crate::model::Severity;

pub const APACHE_CONFIGTEST_FAILED: FindingKind = FindingKind {
    key: "apache.configtest-failed",
    severity: Severity::High,
    inhibitor: true,
    when: When::AfterHop,
    trigger: "`apache2ctl configtest` fails; the message names the directive and file (and `Require all granted` for 2.2-style `Order`/`Allow`/`Deny`)",
    remediation: "fix the directive `apache2ctl configtest` names; the site cannot start until it passes",
};

pub const CUTOVER_CONFIGTEST_FAILED: FindingKind = FindingKind {
    key: "cutover.configtest-failed",
    severity: Severity::High,
    inhibitor: true,
    when: When::Cutover,
    trigger: "the proxy's configuration test (`apache2ctl configtest`, `nginx -t`) fails with the cutover's configuration; the old site is restored and keeps serving",
    remediation: "fix the directive the configuration test names (in the step's `proxy_config` when it has one)",
};

pub const PHP_MODULE_MISSING: FindingKind = FindingKind {
    key: "php.module-missing",
    severity: Severity::High,
    inhibitor: true,
    when: When::AfterHop,
    trigger: "an enabled `php*.load` whose module file is gone",
    remediation: "disable the old module and enable the new release's (`a2dismod php7.4 && a2enmod php8.2`, with the version installed)",
};

pub const PHP_NO_HANDLER: FindingKind = FindingKind {
    key: "php.no-handler",
    severity: Severity::High,
    inhibitor: true,
    when: When::AfterHop,
    trigger: "mod_php installed but no working PHP module or PHP-FPM enabled",
    remediation: "enable the PHP module of the new release (`a2enmod php8.2`) or configure PHP-FPM, then restart Apache",
};

pub const PHP_FATAL_ERRORS: FindingKind = FindingKind {
    key: "php.fatal-errors",
    severity: Severity::High,
    inhibitor: true,
    when: When::EndOfRun,
    trigger: "`PHP Fatal error` or `Parse error` lines the Apache error log gained after the upgrade; each message once, with `[×N]` when requests repeated it",
    remediation: "fix the code for the new PHP version (removed functions, changed signatures), or keep the old PHP from another source until it is fixed",
};

pub const MARIADB_NOT_RUNNING: FindingKind = FindingKind {
    key: "mariadb.not-running",
    severity: Severity::High,
    inhibitor: true,
    when: When::AfterHop,
    trigger: "the MariaDB server is not active; its journal's error lines are the evidence",
    remediation: "read its journal (`journalctl -u mariadb`), fix the configuration, start it and run `mariadb-upgrade`",
};

pub const MARIADB_UPGRADE_NEEDED: FindingKind = FindingKind {
    key: "mariadb.upgrade-needed",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "`mysql_upgrade_info` records an older version than the server's",
    remediation: "run `mariadb-upgrade` (Debian's start script usually does; check /var/log/syslog or the journal for its errors)",
};

pub const POSTGRESQL_OLD_CLUSTER: FindingKind = FindingKind {
    key: "postgresql.old-cluster",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "a cluster on an older major version than the newest installed (`pg_lsclusters`)",
    remediation: "upgrade the old cluster (`pg_upgradecluster OLD main`, after dropping the new empty cluster if there is one), check the application, then remove the old cluster and package",
};
