package PVE::Balancer::HAScheduler;

# pve-balancer's scheduler for pve-ha-manager: the interface of
# PVE::RS::ResourceScheduling::{Static,Dynamic} (libpve-rs-perl) on the C++ engine, in two modes
# chosen cluster-wide in /etc/pve/balancer.cfg, for the libpve-rs-perl and pve-ha-manager
# versions it was verified with. See docs/ha.md.
#
# SPDX-License-Identifier: AGPL-3.0-or-later

use strict;
use warnings;

use PVE::Balancer::Native (); # loads the XS, which defines _new and the methods

=head1 NAME

PVE::Balancer::HAScheduler - HA scheduler: which implementation, which mode, which options

=head1 DESCRIPTION

C<PVE::Balancer::HAScheduler::Static> and C<::Dynamic> offer exactly the methods, arguments,
return values and error messages of C<PVE::RS::ResourceScheduling::Static> and C<::Dynamic>
from libpve-rs-perl, which pve-ha-manager's C<PVE::HA::Usage::Static> and C<::Dynamic> use.
The pve-balancer package installs shims in place of those two files (see docs/ha.md); their
C<new> is L</new_for_upstream>, which decides every time (pve-ha-manager creates a scheduler
per round) between pve-balancer's implementation and libpve-rs-perl's own one (the diverted
F<.distrib> file):

=over

=item *

pve-balancer's implementation runs only with the libpve-rs-perl and pve-ha-manager versions
listed in C<@VERIFIED> (read from dpkg's status file), in the mode of F</etc/pve/balancer.cfg>:

    ha-scheduler: compatible | capacity-aware     (default compatible)
    ha-imbalance: auto | raw | normalized         (default auto; experts only)

=item *

With any other version, libpve-rs-perl's own scheduler runs, exactly as without pve-balancer,
and pve-ha-crm's journal says so once. C<ha-imbalance: raw> or C<normalized> overrides this: it
states which imbalance the installed libpve-rs-perl computes (proxmox-resource-scheduling before
2.1: raw; 2.1 and later: normalised) and runs pve-balancer's implementation with it.

=back

The file is read with the engine's parser and option schema
(C<PVE::Balancer::Native::parse_config>). Capacity-aware mode takes the engine options that
concern it (C<memory-limit>, C<memory-reserve>, C<cpu-weight>, C<memory-weight>,
C<pressure-threshold>, C<pressure-weight>).

Nothing in the configuration can break the HA manager: a missing file means C<compatible>; an
unreadable file, a bad line or value, a key set twice or a key this version does not know means
the default (or the first value), with a warning once per process (in the journal of
pve-ha-crm); the keys of other parts of pve-balancer are left alone.

=head1 FUNCTIONS

=cut

our $CONFIG_PATH = '/etc/pve/balancer.cfg';
our $DPKG_STATUS = '/var/lib/dpkg/status';

=head3 @VERIFIED

The version combinations pve-balancer's implementation was verified with: each entry gives an
inclusive version range per package and the imbalance that libpve-rs-perl computes there. Verified
means: the interface and the numbers were read from that version's source, and pve-ha-manager's
own simulator suite passes unchanged in compatible mode (docs/ha.md, "Verified versions"). The
Debian relations in C<%DEBIAN_RELATIONS> follow from it.

=cut

our @VERIFIED = (
    {
        'pve-ha-manager' => ['5.2.0', '5.2.0'],
        'libpve-rs-perl' => ['0.13.0', '0.13.0'],
        imbalance => 'raw', # proxmox-resource-scheduling 2.0.0: the plain coefficient of variation
    },
);

=head3 %DEBIAN_RELATIONS

The package relations the HA scheduler needs, for debian/control. No upper bound: versions after
the verified ones keep running libpve-rs-perl's own scheduler (see above), and an upper bound would
keep nodes from upgrading Proxmox VE (pve-manager 9.2.11 already wants pve-ha-manager >= 5.2.5).

=cut

our %DEBIAN_RELATIONS = (
    # the diverted originals must exist, with the interface pve-balancer implements
    Depends => 'libpve-rs-perl (>= 0.13.0)',
    # older HA managers call the scheduler differently and have no auto-rebalancing
    Breaks => 'pve-ha-manager (<< 5.2.0)',
);

my %warned;

=head3 warn_once($message)

Warns C<pve-balancer: $message> once per process and message.

=cut

sub warn_once {
    my ($message) = @_;
    return if $warned{$message}++;
    warn "pve-balancer: $message\n";
}

=head3 config_path()

The configuration file: C<$ENV{PVEBAL_HA_CONFIG}> if set (tests, the simulator), else
F</etc/pve/balancer.cfg>.

=cut

sub config_path {
    return $ENV{PVEBAL_HA_CONFIG} // $CONFIG_PATH;
}

=head3 dpkg_status_path()

dpkg's status file: C<$ENV{PVEBAL_DPKG_STATUS}> if set (tests, the simulator), else
F</var/lib/dpkg/status>.

=cut

sub dpkg_status_path {
    return $ENV{PVEBAL_DPKG_STATUS} // $DPKG_STATUS;
}

# --- versions ------------------------------------------------------------------------------

# dpkg's order of characters in the non-digit parts of a version: '~' before everything, even
# the end; then the end; letters; everything else.
sub _char_order {
    my ($c) = @_;
    return 0 if $c eq '';
    return -1 if $c eq '~';
    return ord($c) if $c =~ /[A-Za-z]/;
    return ord($c) + 256;
}

# dpkg's verrevcmp(): alternating non-digit and digit parts.
sub _verrevcmp {
    my ($x, $y) = @_;
    while ($x ne '' || $y ne '') {
        while (($x ne '' && $x !~ /^\d/) || ($y ne '' && $y !~ /^\d/)) {
            my $cx = $x =~ /^(\D)/ ? $1 : '';
            my $cy = $y =~ /^(\D)/ ? $1 : '';
            my $d = _char_order($cx) <=> _char_order($cy);
            return $d if $d;
            substr($x, 0, 1, '');
            substr($y, 0, 1, '');
        }
        my ($nx) = $x =~ /^(\d*)/;
        my ($ny) = $y =~ /^(\d*)/;
        $x = substr($x, length($nx));
        $y = substr($y, length($ny));
        $nx =~ s/^0+//;
        $ny =~ s/^0+//;
        my $d = length($nx) <=> length($ny) || $nx cmp $ny;
        return $d if $d;
    }
    return 0;
}

=head3 version_cmp($a, $b)

Compares two Debian versions (C<[epoch:]upstream[-revision]>) like C<dpkg --compare-versions>:
-1, 0 or 1.

=cut

sub version_cmp {
    my ($x, $y) = @_;
    my @parts = map {
        my ($epoch, $v) = /^(\d+):(.*)$/ ? ($1, $2) : (0, $_);
        my ($upstream, $revision) = $v =~ /^(.*)-([^-]*)$/ ? ($1, $2) : ($v, '');
        [$epoch, $upstream, $revision];
    } ($x, $y);
    my $d = $parts[0][0] <=> $parts[1][0]
        || _verrevcmp($parts[0][1], $parts[1][1])
        || _verrevcmp($parts[0][2], $parts[1][2]);
    return $d <=> 0;
}

my $status_cache = { key => '', versions => {} };

# Package states in which the package's files are on disk with the version named.
my $present_states = qr/^(?:installed|unpacked|half-configured|triggers-awaited|triggers-pending)$/;

=head3 installed_versions()

C<< { 'libpve-rs-perl' => VERSION, 'pve-ha-manager' => VERSION } >> as dpkg's status file lists
them (a package that is not there is left out). The file is read again only when it changed.
Never dies.

=cut

sub installed_versions {
    my $path = dpkg_status_path();
    my @st = stat($path);
    my $key = @st ? join(':', $path, @st[0, 1, 7, 9]) : "$path:missing";
    return { %{ $status_cache->{versions} } } if $key eq $status_cache->{key};

    my $versions = {};
    if (open(my $fh, '<', $path)) {
        local $/ = ''; # paragraph mode: one package per record
        while (my $record = <$fh>) {
            next if $record !~ /^Package: (libpve-rs-perl|pve-ha-manager)$/m;
            my $package = $1;
            my ($state) = $record =~ /^Status: \S+ \S+ (\S+)$/m;
            my ($version) = $record =~ /^Version: (\S+)$/m;
            next if !defined($state) || $state !~ $present_states || !defined($version);
            $versions->{$package} = $version;
        }
        close($fh);
    } elsif (@st) {
        warn_once("cannot read $path: $!");
    }
    $status_cache = { key => $key, versions => $versions };
    return { %$versions };
}

=head3 verified_entry($versions)

The entry of C<@VERIFIED> that C<$versions> (as from L</installed_versions>) falls in, or undef.

=cut

sub verified_entry {
    my ($versions) = @_;
    ENTRY: for my $entry (@VERIFIED) {
        for my $package ('pve-ha-manager', 'libpve-rs-perl') {
            my $v = $versions->{$package} // next ENTRY;
            my ($min, $max) = $entry->{$package}->@*;
            next ENTRY if version_cmp($v, $min) < 0 || version_cmp($v, $max) > 0;
        }
        return $entry;
    }
    return undef;
}

=head3 verified_partner($package, $version)

The lowest version of the other package (of C<pve-ha-manager> and C<libpve-rs-perl>) verified
together with C<$package> C<$version>, or undef. For the simulator check.

=cut

sub verified_partner {
    my ($package, $version) = @_;
    my $other = $package eq 'pve-ha-manager' ? 'libpve-rs-perl' : 'pve-ha-manager';
    for my $entry (@VERIFIED) {
        my ($min, $max) = $entry->{$package}->@*;
        next if version_cmp($version, $min) < 0 || version_cmp($version, $max) > 0;
        return $entry->{$other}->[0];
    }
    return undef;
}

# --- configuration -------------------------------------------------------------------------

my $defaults = { 'ha-scheduler' => 'compatible', 'ha-imbalance' => 'auto' };

# The settings of balancer.cfg's text, read with the engine's parser (the one option schema:
# PVE::Balancer::Native::parse_config). What it reports is warned about once; nothing in it
# can stop HA: bad values keep their defaults, unknown keys (a newer version on another node
# may have written them) are ignored.
sub _settings_of {
    my ($path, $text) = @_;

    my $cfg = PVE::Balancer::Native::parse_config($text);
    for my $issue (@{ $cfg->{errors} }) {
        warn_once(defined($issue->{key})
            ? "$path line $issue->{line}: $issue->{key}: $issue->{message} - using its default"
            : "$path line $issue->{line}: $issue->{message} - ignored");
    }
    for my $issue (@{ $cfg->{duplicates} }) {
        warn_once("$path line $issue->{line}: $issue->{key}: $issue->{message}");
    }
    warn_once("$path: unknown key '$_' - ignored") for sort keys %{ $cfg->{unknown} };

    my $values = $cfg->{values};
    my $settings = { %$defaults, options => {} };
    for my $key (sort keys %$values) {
        if (exists($defaults->{$key})) {
            $settings->{$key} = $values->{$key};
        } else {
            # the XS keeps the engine's options among them (capacity-aware mode)
            $settings->{options}->{$key} = $values->{$key};
        }
    }
    return $settings;
}

=head3 read_settings()

Returns C<< { 'ha-scheduler' => MODE, 'ha-imbalance' => auto|raw|normalized, options => { KEY =>
TEXT } } >> from the configuration file, read with the engine's option schema, with the
defaults for whatever is missing or wrong; C<options> holds the other valid keys (canonical
text). Never dies.

=cut

sub read_settings {
    my $path = config_path();
    my $settings = eval {
        my $fh;
        if (!open($fh, '<', $path)) {
            my $err = $!;
            warn_once("cannot read $path: $err - using the compatible HA scheduler")
                if !$!{ENOENT};
            return { %$defaults, options => {} };
        }
        local $/;
        my $text = <$fh>;
        if (!defined($text)) {
            my $err = $!;
            close($fh);
            warn_once("cannot read $path: $err - using the compatible HA scheduler");
            return { %$defaults, options => {} };
        }
        close($fh);
        return _settings_of($path, $text);
    };
    if (my $err = $@) {
        chomp $err;
        warn_once("reading $path failed: $err - using the compatible HA scheduler");
        return { %$defaults, options => {} };
    }
    return $settings;
}

# --- the decision --------------------------------------------------------------------------

sub _versions_text {
    my ($versions) = @_;
    return join(' with ', map {
        defined($versions->{$_}) ? "$_ $versions->{$_}" : "$_ (not installed)"
    } ('libpve-rs-perl', 'pve-ha-manager'));
}

=head3 decide($settings, $versions)

Which implementation runs, given L</read_settings> and L</installed_versions>. Returns
C<< { backend => 'pve-balancer' | 'libpve-rs-perl', mode, imbalance, reason, notice } >>:
C<mode> and C<imbalance> (C<raw> or C<normalized>) for pve-balancer's implementation,
C<reason> a sentence for humans, C<notice> a warning to log once (or undef). Pure.

=cut

sub decide {
    my ($settings, $versions) = @_;

    my $mode = $settings->{'ha-scheduler'};
    my $override = $settings->{'ha-imbalance'};
    my $entry = verified_entry($versions);
    my $found = _versions_text($versions);

    if ($override ne 'auto') {
        my $notice;
        if (!$entry) {
            $notice = "$found: not verified with pve-balancer; 'ha-imbalance: $override' in"
                . " balancer.cfg makes it run anyway";
        } elsif ($entry->{imbalance} ne $override) {
            $notice = "'ha-imbalance: $override' in balancer.cfg overrides the $entry->{imbalance}"
                . " imbalance of $found";
        }
        return {
            backend => 'pve-balancer',
            mode => $mode,
            imbalance => $override,
            reason => "ha-imbalance: $override set in balancer.cfg",
            notice => $notice,
        };
    }
    if ($entry) {
        return {
            backend => 'pve-balancer',
            mode => $mode,
            imbalance => $entry->{imbalance},
            reason => "$found: verified, $entry->{imbalance} imbalance",
            notice => undef,
        };
    }
    return {
        backend => 'libpve-rs-perl',
        mode => $mode,
        imbalance => undef,
        reason => "$found: not verified with pve-balancer",
        notice => "$found: not verified with pve-balancer - HA uses libpve-rs-perl's own"
            . " scheduler" . ($mode eq 'compatible' ? '' : " (ha-scheduler: $mode not applied)"),
    };
}

=head3 describe()

One line saying what the next scheduler will be and why (for humans and the simulator check).

=cut

sub describe {
    my $d = decide(read_settings(), installed_versions());
    return $d->{backend} eq 'pve-balancer'
        ? "pve-balancer, $d->{mode}, $d->{imbalance} imbalance ($d->{reason})"
        : "libpve-rs-perl's own scheduler ($d->{reason})";
}

=head3 node_memory_info()

What capacity-aware mode knows of each node's own memory needs, for its per-node reserve (the
balancer's rule, docs/constraints.md "Room on the node"): C<< { NODE => { zfs => BYTES,
'arc-max' => BYTES, 'arc-size' => BYTES } } >> from L<PVE::Balancer::State/read_node_memory>
(the RRD, storage.cfg and the node info every node's pve-balancer broadcasts). Only in a
process that talks to pmxcfs already, i.e. that has loaded pve-cluster's PVE::Cluster (pve-ha-crm
does, through pve-ha-manager's PVE::HA::Env::PVE2; the HA simulator's stub has no
C<get_node_kv>); elsewhere (the HA simulator, tests) and when
reading fails (warned once) it is C<{}>: every node keeps the flat C<memory-reserve> plus what
C<node-memory-reserve> says. C<$NODE_MEMORY_INFO>, when set, is called instead (tests).

=cut

our $NODE_MEMORY_INFO;

sub node_memory_info {
    return $NODE_MEMORY_INFO->() if $NODE_MEMORY_INFO;
    # pve-ha-manager's simulator installs a PVE::Cluster stub with get_nodelist only
    # (src/PVE/HA/Sim/Cluster.pm): no pmxcfs there, so nothing to read and nothing to warn about
    return {} if !$INC{'PVE/Cluster.pm'} || !PVE::Cluster->can('get_node_kv')
        || !PVE::Cluster->can('rrd_dump');
    my $res = eval {
        require PVE::Balancer::State;
        PVE::Balancer::State::read_node_memory();
    };
    if (my $err = $@) {
        chomp $err;
        warn_once("cannot read the nodes' ZFS and ARC sizes: $err - capacity-aware mode uses"
            . " memory-reserve and node-memory-reserve only");
        return {};
    }
    return $res // {};
}

=head3 create($class, $kind, $mode [, $imbalance [, $options [, $nodes]]])

Creates one of pve-balancer's scheduler objects, blessed into C<$class>. C<$kind> is
C<'static'> or C<'dynamic'>, C<$mode> C<'compatible'> or C<'capacity-aware'>, C<$imbalance>
C<'normalized'> (default) or C<'raw'>, C<$options> engine options C<< { KEY => TEXT } >> for
capacity-aware mode (bad ones are warned about once and left at their default), C<$nodes> the
nodes' memory info as L</node_memory_info> returns it (default: L</node_memory_info> in
capacity-aware mode). A node's memory reserve is then the balancer's: its
C<node-memory-reserve> entry, else C<memory-reserve> plus its ZFS ARC allowance (Static: the
configured zfs_arc_max, else 1 GiB per TiB of pool; Dynamic: less the ARC's current size, which
the node's measured memory already holds).

=cut

sub create {
    my ($class, $kind, $mode, $imbalance, $options, $nodes) = @_;

    die "pve-balancer: unknown scheduler kind '" . ($kind // 'undef') . "'\n"
        if !defined($kind) || ($kind ne 'static' && $kind ne 'dynamic');
    die "pve-balancer: unknown ha-scheduler mode '" . ($mode // 'undef') . "'\n"
        if !defined($mode) || ($mode ne 'compatible' && $mode ne 'capacity-aware');
    $imbalance //= 'normalized';
    die "pve-balancer: unknown imbalance '$imbalance'\n"
        if $imbalance ne 'normalized' && $imbalance ne 'raw';

    $class = ref($class) || $class;
    my $problems = [];
    my $self = _new(
        $class,
        $kind eq 'static' ? 0 : 1,
        $mode eq 'capacity-aware' ? 1 : 0,
        $imbalance eq 'normalized' ? 1 : 0,
        $options // {},
        $problems,
        $nodes // ($mode eq 'capacity-aware' ? node_memory_info() : {}),
    );
    warn_once(config_path() . ": $_ - using its default") for @$problems;
    return $self;
}

=head3 new_for_upstream($package, $kind, $shim_file, @args)

C<new> of the shimmed C<PVE::RS::ResourceScheduling::*> C<$package> (C<@args> is what its
caller passed, the class). Decides (L</decide>) and returns either pve-balancer's scheduler
(blessed into C<PVE::Balancer::HAScheduler::Static> or C<::Dynamic>) or libpve-rs-perl's own
one, loaded from C<$shim_file.distrib> when first needed. Dies, with the reason, when
libpve-rs-perl's scheduler is needed but cannot be loaded: pve-ha-manager then uses its
C<basic> scheduler and logs why, as it does without libpve-rs-perl.

=cut

sub new_for_upstream {
    my ($package, $kind, $shim_file, @args) = @_;

    die "missing required parameter: 'class'\n" if !@args;
    die "too many parameters for function 'new', (expected 1)\n" if @args > 1;

    my $settings = read_settings();
    my $d = decide($settings, installed_versions());
    warn_once($d->{notice}) if defined($d->{notice});

    if ($d->{backend} eq 'libpve-rs-perl') {
        require PVE::Balancer::HAScheduler::Shim;
        my ($original, $err) =
            PVE::Balancer::HAScheduler::Shim::original_new($package, $shim_file);
        die "pve-balancer: $d->{reason}, and libpve-rs-perl's own $package cannot be loaded"
            . " - $err\n" if !$original;
        return $original->(@args);
    }

    my $class = $kind eq 'static'
        ? 'PVE::Balancer::HAScheduler::Static'
        : 'PVE::Balancer::HAScheduler::Dynamic';
    return create($class, $kind, $d->{mode}, $d->{imbalance}, $settings->{options});
}

1;

=head1 SEE ALSO

L<PVE::Balancer::HAScheduler::Static>, L<PVE::Balancer::HAScheduler::Dynamic>,
L<PVE::Balancer::HAScheduler::RuleSafety>, docs/ha.md.

=cut
