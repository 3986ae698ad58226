package PVE::Balancer::Config;

# The cluster-wide configuration /etc/pve/balancer.cfg: its schema (engine options plus the
# keys of the Proxmox integration), parser, writer and defaults.
#
# Format: one "key: value" per line, '#' starts a comment, blank lines are ignored. Keys are
# the engine option names of docs/options.md plus the integration keys below. An absent key
# means "use the default".

use strict;
use warnings;

use Digest::SHA;
use JSON;

use PVE::JSONSchema;

my $size_pattern = '\d+(?:\.\d+)?[KMGT]?';
my $storage_map_pattern = '[a-zA-Z][a-zA-Z0-9\-_.]*:[a-zA-Z][a-zA-Z0-9\-_.]*'
    . '(?:[,;][a-zA-Z][a-zA-Z0-9\-_.]*:[a-zA-Z][a-zA-Z0-9\-_.]*)*';

# Engine options (docs/options.md). Ranges mirror the engine's own checks, so a bad value is
# refused by the API schema before the engine sees it.
my $engine_options = {
    'allow-container-restart' => {
        type => 'boolean',
        description => "Allow restart migration of running containers (they stop for the move).",
        default => 0,
    },
    bandwidth => {
        type => 'string',
        pattern => $size_pattern,
        description => "Bytes per second available to one migration (K/M/G/T suffix allowed).",
        default => '1G',
    },
    'cost-weight' => {
        type => 'number',
        minimum => 0,
        maximum => 1,
        description => "Objective reduction a move must buy per minute of migration time.",
        default => 0.002,
    },
    'cpu-limit' => {
        type => 'number',
        minimum => 0.05,
        maximum => 1,
        description => "A move may not bring a node's CPU above this fraction.",
        default => 0.9,
    },
    'cpu-weight' => {
        type => 'number',
        minimum => 0,
        maximum => 100,
        description => "Weight of CPU in the objective.",
        default => 1,
    },
    'default-priority' => {
        type => 'integer',
        minimum => 0,
        maximum => 1000,
        description => "HA restart priority of guests without a pvebal-priority-N tag.",
        default => 0,
    },
    'dirty-rate-per-cpu' => {
        type => 'string',
        pattern => $size_pattern,
        description => "Memory dirtied per second per busy vCPU (pre-copy model).",
        default => '64M',
    },
    'honor-proxlb-tags' => {
        type => 'boolean',
        description => "Honour ProxLB's plb_* tags.",
        default => 1,
    },
    'maintenance-nodes' => {
        type => 'string',
        format => 'pve-node-list',
        description => "Nodes treated as in maintenance: never a target.",
    },
    'max-downtime' => {
        type => 'number',
        minimum => 0.001,
        maximum => 3600,
        description => "Downtime limit of a live migration in seconds.",
        default => 0.1,
    },
    'max-memory-ratio' => {
        type => 'number',
        minimum => 0.1,
        maximum => 100,
        description => "Cap on assigned memory of running guests / node memory (off when unset).",
    },
    'max-migrations' => {
        type => 'integer',
        minimum => 0,
        maximum => 100000,
        description => "The largest number of migrations in one balance plan.",
        default => 10,
    },
    'max-parallel' => {
        type => 'integer',
        minimum => 1,
        maximum => 1000,
        description => "Migrations running at the same time in the whole cluster.",
        default => 4,
    },
    'max-parallel-per-node' => {
        type => 'integer',
        minimum => 1,
        maximum => 100,
        description => "Migrations running at the same time that touch one node.",
        default => 2,
    },
    'max-vcpu-ratio' => {
        type => 'number',
        minimum => 0.1,
        maximum => 100,
        description => "Cap on assigned vCPUs of running guests / node threads (off when unset).",
    },
    'memory-limit' => {
        type => 'number',
        minimum => 0.05,
        maximum => 1,
        description => "A move may not bring a node's memory above this fraction.",
        default => 0.9,
    },
    'memory-reserve' => {
        type => 'string',
        pattern => $size_pattern,
        description => "Memory that stays free on every target (K/M/G/T suffix allowed).",
        default => '1G',
    },
    'memory-weight' => {
        type => 'number',
        minimum => 0,
        maximum => 100,
        description => "Weight of memory in the objective.",
        default => 1,
    },
    'min-improvement' => {
        type => 'number',
        minimum => 0,
        maximum => 1,
        description => "Every move must lower the objective by at least this much.",
        default => 0.0005,
    },
    mode => {
        type => 'string',
        enum => ['used', 'static'],
        description => "Load model: measured usage or assigned vCPUs/memory (Proxmox CRS static).",
        default => 'used',
    },
    'pressure-threshold' => {
        type => 'number',
        minimum => 0,
        maximum => 1,
        description => "Utilisation above which a node adds a quadratic penalty.",
        default => 0.8,
    },
    'pressure-weight' => {
        type => 'number',
        minimum => 0,
        maximum => 1000,
        description => "Weight of the pressure penalty.",
        default => 10,
    },
    'restart-downtime' => {
        type => 'number',
        minimum => 0,
        maximum => 86400,
        description => "Shutdown plus start time of a restart-migrated container, in seconds.",
        default => 30,
    },
    'storage-map' => {
        type => 'string',
        pattern => $storage_map_pattern,
        description => "Allowed mapping of local storages, 'source:target,...'.",
    },
    threshold => {
        type => 'number',
        minimum => 0,
        maximum => 10,
        description => "If the objective is at or below this value, nothing is planned.",
        default => 0.02,
    },
};

# Keys of the Proxmox integration.
my $integration_options = {
    auto => {
        type => 'boolean',
        description => "Automatic balancing by pve-balancerd.",
        default => 0,
    },
    interval => {
        type => 'integer',
        minimum => 1,
        maximum => 10080,
        description => "Minutes between two automatic balancing runs.",
        default => 60,
    },
    'ha-scheduler' => {
        type => 'string',
        enum => ['compatible', 'capacity-aware'],
        description => "How the HA manager places recovered and starting guests when the"
            . " pve-balancer scheduler is installed: exactly as Proxmox does, or capacity-aware.",
        default => 'compatible',
    },
    'ha-guests' => {
        type => 'string',
        enum => ['auto', 'move', 'skip'],
        description => "Whether balancing moves HA-managed guests (through the HA manager)."
            . " 'auto' skips them while datacenter.cfg has crs ha-auto-rebalance on, so the"
            . " two balancers never fight. Evacuation always moves them.",
        default => 'auto',
    },
    'on-failure' => {
        type => 'string',
        enum => ['stop', 'replan'],
        description => "What a run does when a migration fails: stop after the running"
            . " migrations, or compute a new plan from the current state and go on.",
        default => 'stop',
    },
    'max-replans' => {
        type => 'integer',
        minimum => 0,
        maximum => 10,
        description => "How often one run may re-plan (on-failure replan).",
        default => 2,
    },
    'migration-timeout' => {
        type => 'integer',
        minimum => 60,
        maximum => 86400,
        description => "Seconds one migration may take before it is aborted and counted failed.",
        default => 3600,
    },
    'rrd-window' => {
        type => 'integer',
        minimum => 0,
        maximum => 60,
        description => "Minutes of RRD history averaged for CPU and memory demand (0: use the"
            . " current sample only).",
        default => 10,
    },
    history => {
        type => 'integer',
        minimum => 1,
        maximum => 200,
        description => "How many past runs are kept in /etc/pve/balancer/runs.json.",
        default => 20,
    },
};

my $config_file = 'balancer.cfg';

=head3 engine_option_names()

The sorted names of the engine options.

=cut

sub engine_option_names {
    return [sort keys %$engine_options];
}

=head3 is_engine_option($key)

True if C<$key> is an engine option (docs/options.md).

=cut

sub is_engine_option {
    my ($key) = @_;
    return defined($engine_options->{$key});
}

=head3 engine_option_schema()

JSON schema properties for every engine option, all optional: merge them into an API
method's parameters. Returns a fresh copy.

=cut

sub engine_option_schema {
    my $res = {};
    for my $key (sort keys %$engine_options) {
        $res->{$key} = { %{ $engine_options->{$key} }, optional => 1 };
    }
    return $res;
}

=head3 config_schema($optional)

JSON schema properties of every key of balancer.cfg. With C<$optional>, all are optional
(for PUT). Returns a fresh copy.

=cut

sub config_schema {
    my ($optional) = @_;

    my $res = {};
    for my $src ($engine_options, $integration_options) {
        for my $key (sort keys %$src) {
            $res->{$key} = { %{ $src->{$key} } };
            $res->{$key}->{optional} = 1 if $optional;
        }
    }
    return $res;
}

=head3 defaults()

The default value of every key that has one.

=cut

sub defaults {
    my $res = {};
    for my $src ($engine_options, $integration_options) {
        for my $key (keys %$src) {
            $res->{$key} = $src->{$key}->{default} if defined($src->{$key}->{default});
        }
    }
    return $res;
}

=head3 parse_config($filename, $raw)

Parses the text of balancer.cfg. Returns a hash of the keys that are set, plus C<digest>
(SHA-1 of the raw text). Dies with a message naming the line on an unknown key or a value
that does not fit the schema.

=cut

sub parse_config {
    my ($filename, $raw) = @_;

    $raw //= '';
    my $schema = config_schema(1);
    my $res = {};
    my $lineno = 0;

    for my $line (split(/\n/, $raw)) {
        $lineno++;
        next if $line =~ m/^\s*(?:#.*)?$/;
        if ($line !~ m/^\s*([a-z][a-z0-9\-]*)\s*:\s*(.*?)\s*$/) {
            die "$filename line $lineno: unable to parse '$line'\n";
        }
        my ($key, $value) = ($1, $2);
        die "$filename line $lineno: unknown key '$key'\n" if !$schema->{$key};
        die "$filename line $lineno: duplicate key '$key'\n" if exists($res->{$key});
        $res->{$key} = $value;
    }

    eval { PVE::JSONSchema::validate($res, { type => 'object', properties => $schema }) };
    if (my $err = $@) {
        my $errors = ref($err) && $err->{errors} ? $err->{errors} : { _root => "$err" };
        my $msg = join('; ', map { "$_: $errors->{$_}" } sort keys %$errors);
        die "$filename: $msg\n";
    }

    $res->{digest} = Digest::SHA::sha1_hex($raw);

    return $res;
}

=head3 write_config($filename, $cfg)

The text of balancer.cfg for C<$cfg> (keys sorted, C<digest> left out).

=cut

sub write_config {
    my ($filename, $cfg) = @_;

    my $raw = "# pve-balancer cluster configuration, see docs/api.md\n";
    for my $key (sort keys %$cfg) {
        next if $key eq 'digest';
        my $value = $cfg->{$key};
        next if !defined($value) || $value eq '';
        die "value of '$key' must not contain a newline\n" if $value =~ m/\n/;
        $raw .= "$key: $value\n";
    }
    return $raw;
}

=head3 load($env)

Reads and parses balancer.cfg through the environment. An absent file is an empty
configuration.

=cut

sub load {
    my ($env) = @_;

    my $raw = $env->read_cfs_file($config_file);
    return parse_config("/etc/pve/$config_file", $raw);
}

=head3 save($env, $cfg)

Writes balancer.cfg through the environment.

=cut

sub save {
    my ($env, $cfg) = @_;

    $env->write_cfs_file($config_file, write_config("/etc/pve/$config_file", $cfg));
}

=head3 effective($cfg)

C<$cfg> completed with the defaults (without C<digest>).

=cut

sub effective {
    my ($cfg) = @_;

    my $res = defaults();
    for my $key (keys %$cfg) {
        next if $key eq 'digest';
        $res->{$key} = $cfg->{$key};
    }
    return $res;
}

=head3 engine_options($cfg)

The engine options set in C<$cfg>, as they go into a snapshot's C<options> object (booleans
and numbers as JSON values).

=cut

sub engine_options {
    my ($cfg) = @_;

    my $res = {};
    for my $key (sort keys %$cfg) {
        my $schema = $engine_options->{$key} or next;
        $res->{$key} = typed_value($schema, $cfg->{$key});
    }
    return $res;
}

=head3 typed_value($schema, $value)

C<$value> (text from a file or a request) as the JSON type its schema names.

=cut

sub typed_value {
    my ($schema, $value) = @_;

    my $type = $schema->{type} // 'string';
    if ($type eq 'boolean') {
        return $value ? JSON::true : JSON::false;
    } elsif ($type eq 'integer') {
        return int($value);
    } elsif ($type eq 'number') {
        return $value + 0;
    }
    return "$value";
}

1;
