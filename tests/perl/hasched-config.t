#!/usr/bin/perl
# The mode comes from /etc/pve/balancer.cfg (here $PVEBAL_HA_CONFIG); whatever goes wrong, the
# scheduler is compatible and warns once. The shims make PVE::RS::ResourceScheduling::* run on
# pve-balancer, or fall back to the diverted libpve-rs-perl file when the XS cannot load.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

require './tests/perl/helpers.pl';
use PVE::Balancer::HAScheduler;
use PVE::Balancer::HAScheduler::Shim;
use PVE::RS::ResourceScheduling::Static;
use PVE::RS::ResourceScheduling::Dynamic;

my $dir = tempdir(CLEANUP => 1);
my @warnings;
local $SIG{__WARN__} = sub { push @warnings, $_[0] };

sub write_file {
    my ($path, $text) = @_;
    open(my $fh, '>', $path) or die "$path: $!\n";
    print $fh $text;
    close($fh);
}

sub mode_with {
    my ($text) = @_;
    my $path = "$dir/balancer.cfg";
    unlink $path;
    write_file($path, $text) if defined($text);
    local $ENV{PVEBAL_HA_CONFIG} = $path;
    return (PVE::RS::ResourceScheduling::Static->new->mode,
        PVE::RS::ResourceScheduling::Dynamic->new->mode);
}

is($PVE::RS::ResourceScheduling::Static::BACKEND, 'pve-balancer', 'Static shim runs on pve-balancer');
is($PVE::RS::ResourceScheduling::Dynamic::BACKEND, 'pve-balancer', 'Dynamic shim runs on pve-balancer');
ok(PVE::RS::ResourceScheduling::Static->isa('PVE::Balancer::HAScheduler::Static'), 'Static isa');
is(\&PVE::RS::ResourceScheduling::Static::add_node, \&PVE::Balancer::HAScheduler::Static::add_node,
    'methods are aliased into the upstream package');

@warnings = ();
is_deeply([mode_with(undef)], ['compatible', 'compatible'], 'missing file: compatible');
is_deeply(\@warnings, [], 'missing file: no warning');
is_deeply([mode_with("ha-scheduler: capacity-aware\n")], ['capacity-aware', 'capacity-aware'],
    'ha-scheduler: capacity-aware');
is_deeply([mode_with("# comment\nsomething-else: 1\n\n  ha-scheduler:compatible  \n")],
    ['compatible', 'compatible'], 'ha-scheduler: compatible, other keys ignored');
is_deeply([mode_with("balancer: default\n\tha-scheduler capacity-aware\n")],
    ['capacity-aware', 'capacity-aware'], 'section-config style line');

@warnings = ();
is_deeply([mode_with("ha-scheduler: fancy\n")], ['compatible', 'compatible'], 'unknown mode: compatible');
is(scalar(@warnings), 1, 'unknown mode: one warning for two schedulers');
like($warnings[0] // '', qr/^pve-balancer: \S+balancer\.cfg: unknown ha-scheduler 'fancy' - using 'compatible'\n\z/,
    'unknown mode: the warning names the file and value');
@warnings = ();
mode_with("ha-scheduler: fancy\n");
is_deeply(\@warnings, [], 'warned once per process');

SKIP: {
    skip 'running as root: an unreadable file cannot be made', 3 if $> == 0;
    my $path = "$dir/unreadable.cfg";
    write_file($path, "ha-scheduler: capacity-aware\n");
    chmod 0000, $path;
    local $ENV{PVEBAL_HA_CONFIG} = $path;
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

# ha-imbalance: raw switches compatible mode to the un-normalised CV.
{
    local $ENV{PVEBAL_HA_CONFIG} = "$dir/imb.cfg";
    my $imb = sub {
        write_file("$dir/imb.cfg", $_[0]);
        my $s = PVE::RS::ResourceScheduling::Static->new;
        $s->add_node($_, 4, 1024) for qw(a b c);
        $s->add_service('vm:1', { stats => { maxcpu => 4, maxmem => 1024 }, running => 1, 'current-node' => 'a' });
        return sprintf('%.4f', $s->calculate_node_imbalance());
    };
    is($imb->("ha-imbalance: raw\n"), '1.4142', 'raw CV');
    is($imb->("ha-imbalance: normalized\n"), '1.0000', 'normalised CV');
    is($imb->(""), '1.0000', 'normalised by default');
}
is(PVE::Balancer::HAScheduler::config_path(), '/etc/pve/balancer.cfg', 'default path')
    if !defined($ENV{PVEBAL_HA_CONFIG});

# --- the shim's fallback -------------------------------------------------------------------
{
    my $shim = "$dir/Fake.pm";
    write_file($shim, "1;\n");
    write_file("$shim.distrib",
        "package Pvebal::Test::Fallback; sub answer { 42 } 1;\n");
    @warnings = ();
    my $backend = PVE::Balancer::HAScheduler::Shim::install('Pvebal::Test::Fallback',
        'Pvebal::Test::DoesNotExist', $shim);
    is($backend, 'libpve-rs-perl', 'fallback: the diverted original is loaded');
    is(Pvebal::Test::Fallback::answer(), 42, 'fallback: its code runs');
    is(scalar(@warnings), 1, 'fallback: one warning');
    like($warnings[0] // '', qr/^pve-balancer: cannot load Pvebal::Test::DoesNotExist .* using libpve-rs-perl's Pvebal::Test::Fallback\n/,
        'fallback: the warning says what happened');

    unlink "$shim.distrib";
    like(error_of(sub { PVE::Balancer::HAScheduler::Shim::install('Pvebal::Test::Other',
        'Pvebal::Test::DoesNotExist', $shim) }),
        qr/^pve-balancer: cannot load Pvebal::Test::DoesNotExist - /,
        'no module and no original: dies (HA then uses its basic scheduler)');

    write_file("$shim.distrib", "die \"broken\\n\";\n");
    like(error_of(sub { PVE::Balancer::HAScheduler::Shim::install('Pvebal::Test::Other',
        'Pvebal::Test::DoesNotExist', $shim) }),
        qr/^pve-balancer: loading \S+Fake\.pm\.distrib failed - broken\n/, 'a broken original dies');
}

done_testing();
