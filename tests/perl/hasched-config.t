#!/usr/bin/perl
# Which scheduler pve-ha-manager gets, and how it is configured: the installed libpve-rs-perl and
# pve-ha-manager versions (dpkg's status file, here $PVEBAL_DPKG_STATUS) decide between
# pve-balancer's implementation and libpve-rs-perl's own one (the diverted .distrib file, here a
# fake); /etc/pve/balancer.cfg (here $PVEBAL_HA_CONFIG) gives the mode, the expert override
# ha-imbalance and the engine options. Whatever goes wrong, HA keeps a scheduler and is told once.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

require './tests/perl/helpers.pl';
use PVE::Balancer::HAScheduler;
use PVE::Balancer::HAScheduler::Shim;
use PVE::RS::ResourceScheduling::Static;
use PVE::RS::ResourceScheduling::Dynamic;

our $GiB = 1024**3;
my $dir = tempdir(CLEANUP => 1);
my @warnings;
local $SIG{__WARN__} = sub { push @warnings, $_[0] };

sub write_file {
    my ($path, $text) = @_;
    open(my $fh, '>', $path) or die "$path: $!\n";
    print $fh $text;
    close($fh);
}

# A dpkg status file as dpkg writes it: one paragraph per package, other packages around.
sub dpkg_status {
    my (%versions) = @_;
    my $text = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n";
    for my $pkg (sort keys %versions) {
        my ($version, $state) = ref($versions{$pkg}) ? $versions{$pkg}->@* : ($versions{$pkg}, 'installed');
        $text .= "Package: $pkg\nStatus: install ok $state\nPriority: optional\n"
            . "Architecture: amd64\nVersion: $version\nDescription: x\n more\n\n";
    }
    return $text . "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\n";
}

my $status = "$dir/status";
my $cfg = "$dir/balancer.cfg";
local $ENV{PVEBAL_DPKG_STATUS} = $status;
local $ENV{PVEBAL_HA_CONFIG} = $cfg;

my $bump = 0;
sub set_versions {
    my (%versions) = @_;
    write_file($status, dpkg_status(%versions));
    # the cache looks at size and mtime (one-second resolution): make every change visible
    my $t = time() + 10 + 2 * $bump++;
    utime($t, $t, $status);
}

sub set_config {
    my ($text) = @_;
    unlink $cfg;
    write_file($cfg, $text) if defined($text);
}

my %verified = ('libpve-rs-perl' => '0.13.0', 'pve-ha-manager' => '5.2.0');

# --- Debian version order, checked against dpkg itself -------------------------------------
{
    my @pairs = (['0.13.0', '0.13.0'], ['0.13.0', '0.13.1'], ['0.13.0', '0.13.0-1'],
        ['0.13.0~rc1', '0.13.0'], ['0.13.10', '0.13.9'], ['1:0.1', '0.13.0'], ['5.2.0', '5.2.0+pve1'],
        ['5.2', '5.2.0'], ['0.13.0a', '0.13.0'], ['0.13.0~~', '0.13.0~'], ['5.2.0-1', '5.2.0-1~bpo'],
        ['0.013.0', '0.13.0'], ['2:1', '10:0'], ['1.0-2', '1.0-10']);
    for my $p (@pairs) {
        my $ours = PVE::Balancer::HAScheduler::version_cmp(@$p);
        my $dpkg = system('dpkg', '--compare-versions', $p->[0], 'lt', $p->[1]) == 0 ? -1
            : system('dpkg', '--compare-versions', $p->[0], 'eq', $p->[1]) == 0 ? 0 : 1;
        is($ours, $dpkg, "version_cmp($p->[0], $p->[1]) = $dpkg, as dpkg says");
    }
}

# --- reading dpkg's status -----------------------------------------------------------------
set_versions(%verified);
is_deeply(PVE::Balancer::HAScheduler::installed_versions(), \%verified, 'both versions read');
set_versions('libpve-rs-perl' => ['0.14.1', 'unpacked'], 'pve-ha-manager' => ['5.2.0', 'config-files']);
is_deeply(PVE::Balancer::HAScheduler::installed_versions(), { 'libpve-rs-perl' => '0.14.1' },
    'an unpacked package counts (its files are there), a removed one does not; the file is read again when it changed');
unlink $status;
is_deeply(PVE::Balancer::HAScheduler::installed_versions(), {}, 'no status file: nothing installed');

# --- the decision (pure) -------------------------------------------------------------------
{
    my $decide = sub {
        my ($versions, $imbalance, $mode) = @_;
        my $d = PVE::Balancer::HAScheduler::decide(
            { 'ha-scheduler' => $mode // 'compatible', 'ha-imbalance' => $imbalance // 'auto' }, $versions);
        return join(' ', $d->{backend}, $d->{imbalance} // '-', defined($d->{notice}) ? 'notice' : 'quiet');
    };
    is($decide->(\%verified), 'pve-balancer raw quiet', 'verified versions: our port, raw imbalance');
    is($decide->({ %verified, 'libpve-rs-perl' => '0.13.0-1' }), 'libpve-rs-perl - notice',
        'a later libpve-rs-perl (maybe built with crate 2.1): the original, with a notice');
    is($decide->({ %verified, 'pve-ha-manager' => '5.2.3' }), 'libpve-rs-perl - notice',
        'a later pve-ha-manager: the original');
    is($decide->({ 'pve-ha-manager' => '5.2.0' }), 'libpve-rs-perl - notice',
        'libpve-rs-perl not installed: the original (if it is there)');
    is($decide->(\%verified, 'normalized'), 'pve-balancer normalized notice',
        'override against the verified variant: done, with a notice');
    is($decide->(\%verified, 'raw'), 'pve-balancer raw quiet', 'override equal to the verified variant: quiet');
    is($decide->({ 'libpve-rs-perl' => '0.15.3', 'pve-ha-manager' => '5.2.5' }, 'normalized'),
        'pve-balancer normalized notice', 'override on unverified versions: our port, with a notice');
    like(PVE::Balancer::HAScheduler::decide({ 'ha-scheduler' => 'capacity-aware', 'ha-imbalance' => 'auto' },
        { 'libpve-rs-perl' => '0.15.3' })->{notice}, qr/ha-scheduler: capacity-aware not applied/,
        'the notice says when a chosen mode is not applied');
    is(PVE::Balancer::HAScheduler::verified_partner('pve-ha-manager', '5.2.0'), '0.13.0',
        'verified partner of pve-ha-manager 5.2.0');
    is(PVE::Balancer::HAScheduler::verified_partner('pve-ha-manager', '5.3.0'), undef, 'none for 5.3.0');
}

# --- the shims as pve-ha-manager loads them ------------------------------------------------
is($PVE::RS::ResourceScheduling::Static::BACKEND, 'pve-balancer', 'Static shim installed');
is($PVE::RS::ResourceScheduling::Dynamic::BACKEND, 'pve-balancer', 'Dynamic shim installed');
{
    no strict 'refs';
    is_deeply([sort grep { defined(&{"PVE::RS::ResourceScheduling::Static::$_"}) }
        keys %PVE::RS::ResourceScheduling::Static::], ['new'],
        'the upstream package gets one sub from us: new');
}

sub modes {
    return map {
        my $s = "PVE::RS::ResourceScheduling::$_"->new;
        ref($s) . ' ' . $s->mode
    } qw(Static Dynamic);
}

set_versions(%verified);
@warnings = ();
set_config(undef);
is_deeply([modes()], ['PVE::Balancer::HAScheduler::Static compatible',
    'PVE::Balancer::HAScheduler::Dynamic compatible'], 'verified, no balancer.cfg: ours, compatible');
is_deeply(\@warnings, [], 'no warning');
set_config("ha-scheduler: capacity-aware\n");
is_deeply([modes()], ['PVE::Balancer::HAScheduler::Static capacity-aware',
    'PVE::Balancer::HAScheduler::Dynamic capacity-aware'], 'ha-scheduler: capacity-aware');
set_config("# comment\nauto: 1\ninterval: 15\n\n  ha-scheduler:compatible  \n");
is_deeply([modes()], ['PVE::Balancer::HAScheduler::Static compatible',
    'PVE::Balancer::HAScheduler::Dynamic compatible'], 'other pve-balancer keys are left alone');
is_deeply(\@warnings, [], 'keys of other parts of pve-balancer: no warning');
set_config("ha-scheduler: capacity-aware\nfrom-a-newer-version: 1\n");
is_deeply([modes()], ['PVE::Balancer::HAScheduler::Static capacity-aware',
    'PVE::Balancer::HAScheduler::Dynamic capacity-aware'], 'an unknown key does not stop HA');
is_deeply(\@warnings, ["pve-balancer: $cfg: unknown key 'from-a-newer-version' - ignored\n"],
    'it is named once');

# The imbalance follows the verified libpve-rs-perl, or the override.
sub one_loaded_node_of_three {
    my $s = PVE::RS::ResourceScheduling::Static->new;
    $s->add_node($_, 4, $GiB) for qw(a b c);
    $s->add_service('vm:1', { stats => { maxcpu => 4, maxmem => $GiB }, running => 1, 'current-node' => 'a' });
    return sprintf('%.4f', $s->calculate_node_imbalance());
}
set_config('');
is(one_loaded_node_of_three(), '1.4142', 'libpve-rs-perl 0.13.0: raw CV, as crate 2.0.0');
@warnings = ();
set_config("ha-imbalance: normalized\n");
is(one_loaded_node_of_three(), '1.0000', 'ha-imbalance: normalized overrides it');
is(scalar(@warnings), 1, 'the override is reported once');
like($warnings[0] // '', qr/^pve-balancer: 'ha-imbalance: normalized' in balancer\.cfg overrides the raw imbalance of libpve-rs-perl 0\.13\.0 with pve-ha-manager 5\.2\.0\n\z/,
    'and says what it overrides');
one_loaded_node_of_three();
is(scalar(@warnings), 1, 'once per process');

# Bad values never break HA.
@warnings = ();
set_config("ha-scheduler: fancy\nha-imbalance: sideways\n");
is_deeply([modes()], ['PVE::Balancer::HAScheduler::Static compatible',
    'PVE::Balancer::HAScheduler::Dynamic compatible'], 'unknown values: the defaults');
is_deeply(\@warnings, [
    "pve-balancer: $cfg line 1: ha-scheduler: expected \"compatible\" or \"capacity-aware\", got \"fancy\" - using its default\n",
    "pve-balancer: $cfg line 2: ha-imbalance: expected \"auto\", \"normalized\" or \"raw\", got \"sideways\" - using its default\n",
], 'each named once, with the file, the line and the engine\'s message');
@warnings = ();
set_config("\tha-scheduler capacity-aware\nha-scheduler: capacity-aware\nha-scheduler: compatible\n");
is_deeply([modes()], ['PVE::Balancer::HAScheduler::Static capacity-aware',
    'PVE::Balancer::HAScheduler::Dynamic capacity-aware'],
    'a line that is not "key: value" is skipped; of a key set twice the first value counts');
is(scalar(@warnings), 2, 'with one warning each');
like($warnings[0] // '', qr/line 1: expected 'key: value', got .* - ignored\n/, 'naming the line');
like($warnings[1] // '', qr/line 3: ha-scheduler: set again; the first value counts\n/, 'and the duplicate');

SKIP: {
    skip 'running as root: an unreadable file cannot be made', 3 if $> == 0;
    set_config("ha-scheduler: capacity-aware\n");
    chmod 0000, $cfg;
    @warnings = ();
    is(PVE::RS::ResourceScheduling::Static->new->mode, 'compatible', 'unreadable: compatible');
    is(scalar(@warnings), 1, 'unreadable: one warning');
    like($warnings[0] // '', qr/cannot read/, 'unreadable: says so');
}
{
    # A directory cannot be read as a file, even by root.
    local $ENV{PVEBAL_HA_CONFIG} = $dir;
    @warnings = ();
    is(PVE::RS::ResourceScheduling::Static->new->mode, 'compatible', 'unreadable path: compatible');
    is(scalar(@warnings), 1, 'unreadable path: one warning');
}

# Two 64 GiB nodes with 20 (node1) and 40 GiB (node2) assigned: each node's score for starting
# an 8 GiB guest, under the balancer.cfg of the moment.
sub two_node_scores {
    my $s = PVE::RS::ResourceScheduling::Static->new;
    $s->add_node($_, 16, 64 * $GiB) for qw(node1 node2);
    $s->add_service('vm:1', { stats => { maxcpu => 1, maxmem => 20 * $GiB }, running => 1, 'current-node' => 'node1' });
    $s->add_service('vm:2', { stats => { maxcpu => 1, maxmem => 40 * $GiB }, running => 1, 'current-node' => 'node2' });
    my %score = map { @$_ } $s->score_nodes_to_start_service({ maxcpu => 1, maxmem => 8 * $GiB })->@*;
    return \%score;
}

# --- engine options from balancer.cfg in capacity-aware mode -------------------------------
{
    # Two 64 GiB nodes with 20 and 40 GiB assigned; an 8 GiB guest fits both within the default
    # memory-limit 0.9, only node1 within 0.5.
    my $scores = \&two_node_scores;
    set_config("ha-scheduler: capacity-aware\n");
    ok($scores->()->{node2} >= 0.7, 'default memory-limit: node2 fits (score >= 0.7)');
    set_config("ha-scheduler: capacity-aware\nmemory-limit: 0.5\n");
    ok($scores->()->{node2} < 0.7 && $scores->()->{node1} >= 0.7, 'memory-limit: 0.5 from balancer.cfg: node2 no longer fits');
    set_config("ha-scheduler: capacity-aware\nmemory-reserve: 32212254720\n");
    ok($scores->()->{node2} < 0.7, 'memory-reserve: 30 GiB in bytes: node2 no longer fits');
    set_config("ha-scheduler: capacity-aware\nmemory-reserve: 30G\n");
    ok($scores->()->{node2} < 0.7, 'memory-reserve: 30G (a size with suffix): node2 no longer fits');

    @warnings = ();
    set_config("ha-scheduler: capacity-aware\nmemory-limit: 2\nmax-migrations: many\nauto: 1\n");
    ok($scores->()->{node2} >= 0.7, 'a bad memory-limit: the default');
    is(scalar(@warnings), 2, 'bad engine options: one warning each');
    like(join('', @warnings), qr/\Q$cfg\E line 2: memory-limit: expected a fraction from 0\.05 to 1, got 2 - using its default/,
        'named by line and key, with the engine\'s message');
    like(join('', @warnings), qr/max-migrations: /, 'options HA does not use are checked too');
    @warnings = ();
    $scores->();
    is(scalar(@warnings), 0, 'warned once per process');
}

# --- per-node memory reserves in capacity-aware mode (the balancer's rule) -----------------
{
    # node2 (40 GiB assigned) fits an 8 GiB guest with the flat reserve; with its own reserve
    # (node-memory-reserve, or 1 GiB + its ZFS ARC allowance) it does not
    my $scores = \&two_node_scores;
    ok(!$INC{'PVE/Cluster.pm'} && !%{ PVE::Balancer::HAScheduler::node_memory_info() },
        'without pmxcfs (no PVE::Cluster loaded): no node memory info');
    {
        # pve-ha-manager's simulator stub (src/PVE/HA/Sim/Cluster.pm): get_nodelist only
        local $INC{'PVE/Cluster.pm'} = 'Sim/Cluster.pm';
        no warnings 'once';
        local *PVE::Cluster::get_nodelist = sub { return };
        @warnings = ();
        is_deeply(PVE::Balancer::HAScheduler::node_memory_info(), {},
            "the HA simulator's PVE::Cluster stub: no node memory info");
        is(scalar(@warnings), 0, '... and no warning');
    }
    set_config("ha-scheduler: capacity-aware\nnode-memory-reserve: node2:20G\n");
    ok($scores->()->{node2} < 0.7 && $scores->()->{node1} >= 0.7,
        'node-memory-reserve from balancer.cfg: node2 keeps 20 GiB free, the guest no longer fits');
    set_config("ha-scheduler: capacity-aware\n");
    {
        # 16 TiB of ZFS pool: 1 + 16 GiB reserve, usable min(57.6, 47) GiB < 48
        local $PVE::Balancer::HAScheduler::NODE_MEMORY_INFO = sub {
            return { node2 => { zfs => 16 * 1024 * $GiB } };
        };
        ok($scores->()->{node2} < 0.7, 'ZFS pool of node2: its ARC allowance is reserved');
        local $PVE::Balancer::HAScheduler::NODE_MEMORY_INFO = sub {
            return { node2 => { zfs => 16 * 1024 * $GiB, 'arc-max' => 2 * $GiB } };
        };
        ok($scores->()->{node2} >= 0.7, 'zfs_arc_max 2 GiB replaces the per-TiB allowance: fits');
        local $PVE::Balancer::HAScheduler::NODE_MEMORY_INFO = sub {
            return { node2 => { zfs => 16 * 1024 * $GiB, 'arc-max' => 0 } };
        };
        ok($scores->()->{node2} < 0.7, 'zfs_arc_max 0 (the ZFS default): the per-TiB allowance');
        @warnings = ();
        local $PVE::Balancer::HAScheduler::NODE_MEMORY_INFO = sub {
            return { node2 => { zfs => 'lots' } };
        };
        ok($scores->()->{node2} >= 0.7, 'bad node memory info: the node keeps memory-reserve');
        like(join('', @warnings), qr/node memory info of node2: zfs: expected a non-negative integer/,
            'and it is named once') or diag(join('', @warnings));
    }
    @warnings = ();
    set_config("ha-scheduler: capacity-aware\nnode-memory-reserve: node2\n");
    ok($scores->()->{node2} >= 0.7, 'a bad node-memory-reserve: the flat reserve');
    like(join('', @warnings), qr/node-memory-reserve: expected 'node:size' pairs/,
        'a bad node-memory-reserve is named') or diag(join('', @warnings));
    set_config("ha-scheduler: capacity-aware\n");
}

# --- libpve-rs-perl's own scheduler for versions not verified ------------------------------
{
    # A stand-in for a shimmed package and its diverted original (libpve-rs-perl's 4-line
    # perlmod stub defines the whole package: new and every method).
    my $shim = "$dir/Fake.pm";
    write_file($shim, "1;\n");
    write_file("$shim.distrib", <<'EOF');
package Pvebal::Test::Upstream;
use strict;
use warnings;
sub new { my ($class) = @_; return bless { original => 1 }, $class }
sub answer { 42 }
1;
EOF
    is(PVE::Balancer::HAScheduler::Shim::install('Pvebal::Test::Upstream', 'static', $shim),
        'pve-balancer', 'a shimmed package');
    set_config("ha-scheduler: capacity-aware\n");

    set_versions(%verified);
    isa_ok(Pvebal::Test::Upstream->new, 'PVE::Balancer::HAScheduler::Static', 'verified: ours');
    ok(!defined(&Pvebal::Test::Upstream::answer), 'the original is not loaded while not needed');

    @warnings = ();
    set_versions('libpve-rs-perl' => '0.15.3', 'pve-ha-manager' => '5.2.5');
    my $o = Pvebal::Test::Upstream->new;
    is_deeply([ref($o), $o->{original}], ['Pvebal::Test::Upstream', 1],
        'libpve-rs-perl 0.15.3 with pve-ha-manager 5.2.5: the diverted original, under its real name');
    is($o->answer, 42, 'with its own methods');
    is(scalar(@warnings), 1, 'one warning');
    like($warnings[0] // '', qr/^pve-balancer: libpve-rs-perl 0\.15\.3 with pve-ha-manager 5\.2\.5: not verified with pve-balancer - HA uses libpve-rs-perl's own scheduler \(ha-scheduler: capacity-aware not applied\)\n\z/,
        'saying which versions and that the mode is not applied');
    Pvebal::Test::Upstream->new;
    is(scalar(@warnings), 1, 'once per process');

    set_versions(%verified);
    isa_ok(Pvebal::Test::Upstream->new, 'PVE::Balancer::HAScheduler::Static',
        'back on verified versions (e.g. a downgrade before the restart): ours again, per round');

    set_config("ha-imbalance: normalized\n");
    set_versions('libpve-rs-perl' => '0.15.3', 'pve-ha-manager' => '5.2.5');
    isa_ok(Pvebal::Test::Upstream->new, 'PVE::Balancer::HAScheduler::Static', 'an expert override runs ours anyway');

    # No original to fall back to: dies, and pve-ha-manager uses its basic scheduler, as without
    # libpve-rs-perl.
    set_config('');
    PVE::Balancer::HAScheduler::Shim::install('Pvebal::Test::Missing', 'dynamic', "$dir/Missing.pm");
    like(error_of(sub { Pvebal::Test::Missing->new }),
        qr/^pve-balancer: libpve-rs-perl 0\.15\.3 with pve-ha-manager 5\.2\.5: not verified with pve-balancer, and libpve-rs-perl's own Pvebal::Test::Missing cannot be loaded - \S+Missing\.pm\.distrib not found\n\z/,
        'unverified and no original: dies with the reason');
    write_file("$dir/Broken.pm.distrib", "die \"broken\\n\";\n");
    PVE::Balancer::HAScheduler::Shim::install('Pvebal::Test::Broken', 'dynamic', "$dir/Broken.pm");
    like(error_of(sub { Pvebal::Test::Broken->new }),
        qr/cannot be loaded - loading \S+Broken\.pm\.distrib failed - broken\n\z/, 'a broken original: dies');
    is(error_of(sub { Pvebal::Test::Upstream->new(1) }),
        "too many parameters for function 'new', (expected 1)\n", 'new checks its arguments first');
}

# --- the shim's fallback when pve-balancer's modules cannot load ---------------------------
{
    my $shim = "$dir/NoXS.pm";
    write_file($shim, "1;\n");
    write_file("$shim.distrib", "package Pvebal::Test::Fallback; sub answer { 42 } 1;\n");
    my $install = sub {
        my ($package) = @_;
        # a kind whose module does not exist stands for a module that cannot load
        no warnings 'redefine';
        local *PVE::Balancer::HAScheduler::Shim::_module_of = sub { 'Pvebal::Test::DoesNotExist' };
        return PVE::Balancer::HAScheduler::Shim::install($package, 'static', $shim);
    };
    @warnings = ();
    is($install->('Pvebal::Test::Fallback'), 'libpve-rs-perl', 'no XS: the diverted original is loaded');
    is(Pvebal::Test::Fallback::answer(), 42, 'its code runs');
    is(scalar(@warnings), 1, 'one warning');
    like($warnings[0] // '', qr/^pve-balancer: cannot load Pvebal::Test::DoesNotExist .* using libpve-rs-perl's Pvebal::Test::Fallback\n/,
        'saying what happened');
    unlink "$shim.distrib";
    like(error_of(sub { $install->('Pvebal::Test::Other') }), qr/^pve-balancer: cannot load Pvebal::Test::DoesNotExist - /,
        'no module and no original: dies (HA then uses its basic scheduler)');
}

is(PVE::Balancer::HAScheduler::config_path(), $cfg, 'PVEBAL_HA_CONFIG is honoured');
{
    local $ENV{PVEBAL_HA_CONFIG};
    local $ENV{PVEBAL_DPKG_STATUS};
    is(PVE::Balancer::HAScheduler::config_path(), '/etc/pve/balancer.cfg', 'default configuration');
    is(PVE::Balancer::HAScheduler::dpkg_status_path(), '/var/lib/dpkg/status', 'default dpkg status');
}

done_testing();
