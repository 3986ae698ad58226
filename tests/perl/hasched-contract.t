#!/usr/bin/perl
# The PVE::Balancer::HAScheduler::{Static,Dynamic} contract, in both modes: every method,
# argument conversion, return shape, error message (as perlmod/serde word them, ending in a
# newline), and DESTROY.
use strict;
use warnings;
use Test::More;
use Scalar::Util qw(looks_like_number);
use JSON ();

require './tests/perl/helpers.pl';
require './tests/perl/ha-helpers.pl';
our ($GiB);

my $live = \&PVE::Balancer::HAScheduler::_live_handles;
my $live_before = $live->();

my %k = (
    static => {
        class => 'PVE::Balancer::HAScheduler::Static',
        add_node => sub { $_[0]->add_node($_[1], 16, 64 * $GiB) },
        stats => { maxcpu => 2, maxmem => 4 * $GiB },
        add => 'add_service',
        remove => 'remove_service_usage',
        start => 'score_nodes_to_start_service',
    },
    dynamic => {
        class => 'PVE::Balancer::HAScheduler::Dynamic',
        add_node => sub { $_[0]->add_node($_[1], { cpu => 1.5, maxcpu => 16, mem => 8 * $GiB, maxmem => 64 * $GiB }) },
        stats => { cpu => 0.5, maxcpu => 2, mem => 2 * $GiB, maxmem => 4 * $GiB },
        add => 'add_resource',
        remove => 'remove_resource',
        start => 'score_nodes_to_start_resource',
    },
);

for my $kind (qw(static dynamic)) {
    my $K = $k{$kind};
    my $class = $K->{class};
    my ($add, $remove, $start) = @$K{qw(add remove start)};

    for my $mode (qw(compatible capacity-aware)) {
        my $t = "$kind/$mode";
        my $s = $class->new_with_mode($mode);
        isa_ok($s, $class, "$t: object");
        is($s->mode, $mode, "$t: mode");
        ok($class->can($_), "$t: can $_") for ('new', 'add_node', 'remove_node', 'list_nodes',
            'contains_node', $add, $remove, 'calculate_node_imbalance',
            'score_best_balancing_migration_candidates',
            'score_best_balancing_migration_candidates_topsis', $start);

        # nodes
        my @ret = $K->{add_node}->($s, 'node1');
        is(scalar(@ret), 0, "$t: add_node returns nothing");
        $K->{add_node}->($s, $_) for qw(node3 node2);
        is(error_of(sub { $K->{add_node}->($s, 'node1') }), "node 'node1' already exists\n",
            "$t: duplicate node");
        is_deeply($s->list_nodes, [qw(node1 node2 node3)], "$t: list_nodes sorted");
        is($s->contains_node('node2'), 1, "$t: contains_node true");
        is($s->contains_node('nodeX'), 0, "$t: contains_node false");

        # resources
        my $res = sub { my ($node, %o) = @_; { stats => $K->{stats}, running => 1, 'current-node' => $node, %o } };
        @ret = $s->$add('vm:101', $res->('node1'));
        is(scalar(@ret), 0, "$t: $add returns nothing");
        $s->$add('vm:102', $res->('node1'));
        $s->$add('vm:103', $res->('node1', 'target-node' => 'node2'));
        $s->$add('vm:104', $res->('node1', running => 0));
        is(error_of(sub { $s->$add('vm:101', $res->('node1')) }), "resource 'vm:101' already exists\n",
            "$t: duplicate resource");
        is(error_of(sub { $s->$add('vm:105', $res->('nodeX')) }),
            "current node for resource 'vm:105' does not exist\n", "$t: unknown current node");
        is(error_of(sub { $s->$add('vm:105', $res->('node1', 'target-node' => 'node1')) }),
            "resource 'vm:105' has the same current and target node\n", "$t: same current and target");
        is(error_of(sub { $s->$add('vm:105', $res->('node1', 'target-node' => 'nodeX')) }),
            "nodes for resource 'vm:105' do not exist\n", "$t: unknown target node");
        @ret = $s->$remove('vm:999');
        is(scalar(@ret), 0, "$t: removing an unknown sid is fine");

        # imbalance
        my $imb = $s->calculate_node_imbalance();
        ok(!ref($imb) && looks_like_number($imb) && $imb >= 0, "$t: imbalance is a number >= 0");

        # balancing
        my $cands = [{ leader => 'vm:101', resources => ['vm:101'], nodes => ['node2', 'node3'] },
            { leader => 'vm:102', resources => ['vm:102'], nodes => ['node2', 'node3'] }];
        for my $method ('score_best_balancing_migration_candidates',
            'score_best_balancing_migration_candidates_topsis') {
            my $r = $s->$method($cands, 3);
            is(ref($r), 'ARRAY', "$t: $method returns an array");
            ok(@$r <= 3 && @$r >= 1, "$t: $method respects the limit");
            for my $e (@$r) {
                is_deeply([sort keys %$e], [qw(imbalance migration)], "$t: $method entry keys");
                is_deeply([sort keys $e->{migration}->%*], [qw(sid source-node target-node)],
                    "$t: $method migration keys");
                is($e->{migration}{'source-node'}, 'node1', "$t: $method source");
                ok(looks_like_number($e->{imbalance}), "$t: $method imbalance is a number");
            }
            is_deeply($s->$method($cands, 0), [], "$t: $method limit 0");
            is_deeply($s->$method([], 5), [], "$t: $method no candidates");
            is(error_of(sub { $s->$method([{ leader => 'vm:999', resources => ['vm:999'], nodes => ['node2'] }], 1) }),
                "leader 'vm:999' is not present in the cluster usage\n", "$t: $method unknown leader");
            is(error_of(sub { $s->$method([{ leader => 'vm:103', resources => ['vm:103'], nodes => ['node2'] }], 1) }),
                "leader 'vm:103' is non-stationary\n", "$t: $method moving leader");
            is(error_of(sub { $s->$method([{ leader => 'vm:101', resources => ['vm:102'], nodes => ['node2'] }], 1) }),
                "leader 'vm:101' is not present in the resources list\n", "$t: $method leader not in bundle");
            is(error_of(sub { $s->$method([{ leader => 'vm:101', resources => ['vm:101', 'vm:999'], nodes => ['node2'] }], 1) }),
                "resource 'vm:999' is not present in the cluster usage\n", "$t: $method unknown member");
            is(error_of(sub { $s->$method([{ leader => 'vm:101', resources => ['vm:101', 'vm:103'], nodes => ['node2'] }], 1) }),
                "resource 'vm:103' is non-stationary\n", "$t: $method moving member");
            is(error_of(sub { $s->$method([{ leader => 'vm:101', resources => ['vm:101'] }], 1) }),
                "missing field `nodes`\n", "$t: $method missing field");
            is(error_of(sub { $s->$method({}, 1) }), "invalid type: map, expected a sequence\n",
                "$t: $method hash instead of list");
            is(error_of(sub { $s->$method($cands, -1) }), "invalid value: integer `-1`, expected usize\n",
                "$t: $method negative limit");
            is(error_of(sub { $s->$method($cands) }), "missing required parameter: 'limit'\n",
                "$t: $method missing limit");
        }
        $s->$add('vm:201', $res->('node2'));
        is(error_of(sub { $s->score_best_balancing_migration_candidates(
            [{ leader => 'vm:101', resources => ['vm:101', 'vm:201'], nodes => ['node3'] }], 1) }),
            "resource 'vm:201' is on other node than leader\n", "$t: member on another node");

        # start scores
        my $scores = $s->$start($K->{stats});
        is(ref($scores), 'ARRAY', "$t: $start returns an array");
        is_deeply([sort map { $_->[0] } @$scores], [qw(node1 node2 node3)], "$t: one score per node");
        ok(!grep({ ref($_) ne 'ARRAY' || @$_ != 2 || $_->[1] < 0 || $_->[1] > 1 } @$scores),
            "$t: [node, score] pairs with score in [0, 1]");
        is(error_of(sub { $s->$start({ maxcpu => 1 }) }),
            $kind eq 'static' ? "missing field `maxmem`\n" : "missing field `cpu`\n", "$t: $start missing field");

        # removal
        $s->$remove('vm:101');
        is(error_of(sub { $s->score_best_balancing_migration_candidates([{ leader => 'vm:101', resources => ['vm:101'], nodes => ['node2'] }], 1) }),
            "leader 'vm:101' is not present in the cluster usage\n", "$t: removed resource is gone");
        $s->remove_node('node1');
        $s->remove_node('nodeX');
        is_deeply($s->list_nodes, [qw(node2 node3)], "$t: remove_node");
        is_deeply([map { $_->[0] } $s->$start($K->{stats})->@*], [qw(node2 node3)],
            "$t: scores after remove_node");

        # argument counts and the object
        is(error_of(sub { $s->list_nodes(1) }), "too many parameters for function 'list_nodes', (expected 1)\n",
            "$t: too many parameters");
        is(error_of(sub { $s->contains_node() }), "missing required parameter: 'nodename'\n",
            "$t: missing parameter");
        is(error_of(sub { $class->list_nodes() }), "value blessed into $class was not a reference\n",
            "$t: class method call");
        is(error_of(sub { no strict 'refs'; &{"${class}::list_nodes"}({}) }),
            "value blessed into $class did not contain its declared magic pointer\n",
            "$t: a plain hash is not a scheduler");
        my $other = $kind eq 'static' ? 'PVE::Balancer::HAScheduler::Dynamic' : 'PVE::Balancer::HAScheduler::Static';
        my $o = $other->new_with_mode($mode);
        is(error_of(sub { no strict 'refs'; &{"${class}::list_nodes"}($o) }),
            "value blessed into $class did not contain its declared magic pointer\n",
            "$t: the other kind's object is refused");
        undef $o;
    }

    # constructor
    is(error_of(sub { $class->new(1) }), "too many parameters for function 'new', (expected 1)\n",
        "$kind: new with an argument");
    is(error_of(sub { no strict 'refs'; &{"${class}::new"}() }), "missing required parameter: 'class'\n",
        "$kind: new without class");
    is(error_of(sub { $class->new_with_mode('fancy') }), "pve-balancer: unknown ha-scheduler mode 'fancy'\n",
        "$kind: unknown mode");
    my $sub = "My::$kind";
    { no strict 'refs'; @{"${sub}::ISA"} = ($class); }
    isa_ok($sub->new_with_mode('compatible'), $sub, "$kind: subclass");
}

# --- argument conversion (perlmod + serde) -------------------------------------------------
{
    my $s = PVE::Balancer::HAScheduler::Static->new_with_mode('compatible');
    my $d = PVE::Balancer::HAScheduler::Dynamic->new_with_mode('compatible');
    my @cases = (
        [sub { $s->add_node('a', 'abc', 1) }, "invalid type: string \"abc\", expected usize\n", 'string for usize'],
        [sub { $s->add_node('a', -1, 1) }, "invalid value: integer `-1`, expected usize\n", 'negative usize'],
        [sub { $s->add_node('a', undef, 1) }, "invalid type: unit value, expected usize\n", 'undef usize'],
        [sub { $s->add_node('a', [], 1) }, "invalid type: sequence, expected usize\n", 'array for usize'],
        [sub { $s->add_node('a', {}, 1) }, "invalid type: map, expected usize\n", 'hash for usize'],
        [sub { $s->add_node(5, 1, 1) }, "invalid type: integer `5`, expected a string\n", 'integer node name'],
        [sub { $s->add_node(2.5, 1, 1) }, "invalid type: floating point `2.5`, expected a string\n", 'float node name'],
        [sub { $s->add_node(undef, 1, 1) }, "invalid type: Option value, expected a string\n", 'undef node name'],
        [sub { $s->add_node({}, 1, 1) }, "invalid type: map, expected a string\n", 'hash as node name'],
        [sub { $s->contains_node(7) }, "invalid type: integer `7`, expected a borrowed string\n", 'integer for &str'],
        [sub { $s->add_node('a', 1, 2, 3) }, "too many parameters for function 'add_node', (expected 4)\n", 'too many'],
        [sub { $s->add_node('a', 1) }, "missing required parameter: 'maxmem'\n", 'missing maxmem'],
        [sub { $s->add_service('vm:1', 'x') }, "invalid type: string \"x\", expected struct PveResource\n", 'string for struct'],
        [sub { $s->add_service('vm:1', { running => 1, 'current-node' => 'a' }) }, "missing field `stats`\n", 'missing stats'],
        [sub { $s->add_service('vm:1', { stats => { maxcpu => 'x', maxmem => 1 }, running => 1, 'current-node' => 'a' }) },
            "invalid type: string \"x\", expected f64\n", 'string for f64'],
        [sub { $s->add_service('vm:1', { stats => { maxcpu => 1, maxmem => 1 }, running => 'yes', 'current-node' => 'a' }) },
            "expected bool value\n", 'string for bool'],
        [sub { $s->add_service('vm:1', { stats => { maxcpu => 1, maxmem => 1 }, running => 1, 'current-node' => 'a', 'target-node' => 3 }) },
            "invalid type: integer `3`, expected a string\n", 'integer target node'],
        [sub { $s->add_service('vm:1', { stats => [1], running => 1, 'current-node' => 'a' }) },
            "invalid length 1, expected struct StaticResourceStats with 2 elements\n", 'short positional struct'],
        [sub { $d->add_node('a', { cpu => 1, maxcpu => 1, mem => 1 }) }, "missing field `maxmem`\n", 'dynamic node missing field'],
        [sub { $d->add_node('a', 5) }, "invalid type: integer `5`, expected struct DynamicNodeStats\n", 'integer for node stats'],
        [sub { $d->score_nodes_to_start_resource(undef) }, "invalid type: Option value, expected struct DynamicResourceStats\n", 'undef stats'],
        [sub { $s->score_best_balancing_migration_candidates([{ leader => 1, resources => [], nodes => [] }], 1) },
            "invalid type: integer `1`, expected a string\n", 'integer leader'],
        [sub { $s->score_best_balancing_migration_candidates(['x'], 1) },
            "invalid type: string \"x\", expected struct CompactMigrationCandidate\n", 'string candidate'],
        [sub { $s->add_node("tab\there\"", 'q', 1) }, "invalid type: string \"q\", expected usize\n", 'message after odd name'],
        [sub { $s->add_node('a', "x\ny", 1) }, "invalid type: string \"x\\ny\", expected usize\n", 'escaped string'],
    );
    is(error_of($_->[0]), $_->[1], "conversion: $_->[2]") for @cases;

    # What perlmod accepts: integer parts of floats, numeric strings used as numbers,
    # references to scalars, JSON booleans, positional structs, unknown keys.
    my $n = '8';
    my $x = $n + 0; # now also an integer
    is(error_of(sub { $s->add_node('f1', 3.9, 17179869184.7) }), '', 'floats for usize are truncated');
    is(error_of(sub { $s->add_node('f2', $n, \16) }), '', 'numeric string used as number, scalar ref');
    is(error_of(sub { $s->add_service('vm:1', { stats => [2, 4096], running => JSON::true, 'current-node' => 'f1', extra => 1 }) }),
        '', 'positional stats, JSON boolean, unknown key');
    is(error_of(sub { $s->add_service('vm:2', { stats => { maxcpu => 1, maxmem => 1 }, running => undef, 'current-node' => 'f1', 'target-node' => undef }) }),
        '', 'undef running (false) and target');
    my $scores = { map { @$_ } $s->score_nodes_to_start_service({ maxcpu => 1, maxmem => 1 })->@* };
    is_deeply([sort keys %$scores], [qw(f1 f2)], 'nodes added with converted values');
}

# --- deprecated add_service_usage_to_node (Static) -----------------------------------------
{
    my $s = PVE::Balancer::HAScheduler::Static->new_with_mode('compatible');
    $s->add_node($_, 8, 16 * $GiB) for qw(node1 node2);
    my $stats = { maxcpu => 2, maxmem => 2 * $GiB };
    is(error_of(sub { $s->add_service_usage_to_node('node1', 'vm:1', $stats) }), '', 'legacy: first call places');
    is(error_of(sub { $s->add_service_usage_to_node('node2', 'vm:1', $stats) }), '', 'legacy: second call moves');
    is(error_of(sub { $s->add_service_usage_to_node('node1', 'vm:1', $stats) }),
        "resource 'vm:1' is already moving to target node 'node2'\n", 'legacy: third call fails');
    is(error_of(sub { $s->add_service_usage_to_node('nodeX', 'vm:2', $stats) }),
        "current node for resource 'vm:2' does not exist\n", 'legacy: unknown node');
    is(error_of(sub { $s->add_service_usage_to_node('node1', 'vm:3') }),
        "missing required parameter: 'service_stats'\n", 'legacy: missing stats');
}

# --- DESTROY -------------------------------------------------------------------------------
{
    my $base = $live->();
    my @objs = map { PVE::Balancer::HAScheduler::Dynamic->new_with_mode('capacity-aware') } 1 .. 5;
    is($live->(), $base + 5, 'five live handles');
    @objs = ();
    is($live->(), $base, 'freed when the objects go away');
    my $s = PVE::Balancer::HAScheduler::Static->new_with_mode('compatible');
    my $copy = $s;
    undef $s;
    is($live->(), $base + 1, 'a second reference keeps it alive');
    $copy->DESTROY;
    is($live->(), $base, 'explicit DESTROY frees it');
    is(error_of(sub { $copy->list_nodes }),
        "value blessed into PVE::Balancer::HAScheduler::Static did not contain its declared magic pointer\n",
        'a destroyed object dies cleanly');
    $copy->DESTROY;
    undef $copy;
    is($live->(), $base, 'double DESTROY is harmless');
    { my $tmp = PVE::Balancer::HAScheduler::Static->new_with_mode('compatible'); $tmp->add_node('a', 1, 1); }
    is($live->(), $base, 'scope exit frees');
}
is($live->(), $live_before, 'no handle leaked by this test');

done_testing();
