package PVE::Balancer::API::Schema;

# The parts of the /cluster/balance API schema that several methods share (PVE::API2::Balancer
# and PVE::API2::Balancer::Config): the permission checks, the apply parameters, the plan a dry
# run returns, and the engine options every planning call accepts. One place owns each; the
# methods register the very same hashes.

use strict;
use warnings;

use PVE::JSONSchema qw(get_standard_option);

use PVE::Balancer::Config;

my $size_pattern = '\d+(?:\.\d+)?[KMGT]?';

# More failure scenarios than this would keep a pvedaemon worker busy for minutes.
my $max_scenarios_limit = 100_000;

my $apply_properties = {
    apply => {
        type => 'boolean',
        description => "Run the plan as a worker task and return its UPID. Without it, the"
            . " plan is only computed and returned (dry run).",
        optional => 1,
        default => 0,
    },
    'on-failure' => do {
        my $prop = PVE::Balancer::Config::config_schema()->{'on-failure'};
        delete $prop->{default}; # balancer.cfg decides
        $prop->{description} = "When a migration fails: stop, or compute a new plan from the"
            . " current state and go on (default: balancer.cfg's on-failure).";
        $prop;
    },
    digest => {
        type => 'string',
        description => "Apply only if the freshly computed plan has this digest (the 'digest'"
            . " of the plan shown to the user), so what runs is what was reviewed.",
        pattern => '[0-9a-f]{40}',
        optional => 1,
    },
};

my $migration_schema = {
    type => 'object',
    additionalProperties => 1,
    properties => {
        step => { type => 'integer', description => "Execution order." },
        wave => { type => 'integer', description => "Migrations of one wave may run in parallel." },
        vmid => get_standard_option('pve-vmid'),
        type => { type => 'string', enum => ['qemu', 'lxc'] },
        name => { type => 'string', optional => 1 },
        from => get_standard_option('pve-node', { description => "Source node." }),
        to => get_standard_option('pve-node', { description => "Target node." }),
        mode => { type => 'string', enum => ['online', 'offline', 'restart'] },
        ha => { type => 'boolean', optional => 1, description => "Moved by the HA manager." },
        'with-local-disks' => { type => 'boolean', optional => 1 },
        temporary => { type => 'boolean', optional => 1 },
        reason => { type => 'string', optional => 1 },
        cost => {
            type => 'object',
            optional => 1,
            description => "Estimated bytes, seconds and downtime of the migration.",
        },
    },
};

my $permissions_schema = {
    type => 'object',
    optional => 1,
    description => "What the caller may do: 'apply' (this plan, or plans in general in the"
        . " status), 'config' (change balancer.cfg), and 'why' applying is not allowed.",
    properties => {
        apply => { type => 'boolean' },
        config => { type => 'boolean' },
        why => { type => 'string', optional => 1 },
    },
};

my $plan_schema = {
    type => 'object',
    additionalProperties => 1,
    description => "The plan (see docs/api.md and the CLI's JSON output).",
    properties => {
        kind => { type => 'string', enum => ['balance', 'evacuate'] },
        digest => {
            type => 'string',
            description => "Digest of the migrations; pass it with apply=1 to run exactly"
                . " this plan.",
        },
        migrations => { type => 'array', items => $migration_schema },
        unplaced => {
            type => 'array',
            description => "Guests that cannot be moved, with the reason per node.",
            items => { type => 'object' },
        },
        metrics => { type => 'object', description => "Metrics before and after the plan." },
        nodes => { type => 'array', items => { type => 'object' } },
        summary => { type => 'object' },
        notes => { type => 'array', items => { type => 'string' } },
        dropped => { type => 'array', optional => 1, items => { type => 'object' } },
        drained => { type => 'array', optional => 1, items => { type => 'string' } },
        mode => { type => 'string', optional => 1 },
        permissions => $permissions_schema,
    },
};

my $plan_or_upid = {
    description => "The plan (dry run), or the UPID of the task that runs it (apply=1).",
    oneOf => [
        $plan_schema, { type => 'string', description => "UPID of the balance task." },
    ],
};

my $read_permissions = {
    description => "Requires 'Sys.Audit' on '/'.",
    check => ['perm', '/', ['Sys.Audit']],
};

my $apply_permissions = {
    description => "Computing a plan requires 'Sys.Audit' on '/'. Applying it (apply=1) also"
        . " requires 'Sys.Modify' on '/' and 'VM.Migrate' on '/vms/<ID>' for every guest of the"
        . " plan.",
    check => ['perm', '/', ['Sys.Audit']],
};

=head3 size_pattern()

The pattern of a size parameter: bytes, or a number with a K/M/G/T suffix.

=cut

sub size_pattern {
    return $size_pattern;
}

=head3 max_scenarios_limit()

The largest C<max-scenarios> a capacity call accepts.

=cut

sub max_scenarios_limit {
    return $max_scenarios_limit;
}

=head3 with_engine_options($props)

The engine options of balancer.cfg (PVE::Balancer::Config::engine_option_schema) as parameters,
plus C<$props>, which win over an engine option of the same name.

=cut

sub with_engine_options {
    my ($props) = @_;

    my $res = PVE::Balancer::Config::engine_option_schema();
    $res->{$_} = $props->{$_} for keys %$props;
    return $res;
}

=head3 apply_properties()

The parameters of a plan call that runs it: C<apply>, C<on-failure>, C<digest>.

=cut

sub apply_properties {
    return $apply_properties;
}

=head3 permissions_schema()

The C<permissions> object of answers: what the caller may do (C<apply>, C<config>, C<why>).

=cut

sub permissions_schema {
    return $permissions_schema;
}

=head3 plan_or_upid()

The return schema of a plan call: the plan (dry run), or the UPID of its task (C<apply=1>).

=cut

sub plan_or_upid {
    return $plan_or_upid;
}

=head3 read_permissions()

C<Sys.Audit> on C</>: what reading the status, the what-ifs and the configuration needs.

=cut

sub read_permissions {
    return $read_permissions;
}

=head3 apply_permissions()

The permissions of a plan call: C<Sys.Audit> on C</> to compute it; applying it is checked by
the call itself (PVE::Balancer::API::Permissions::check_apply).

=cut

sub apply_permissions {
    return $apply_permissions;
}

1;
