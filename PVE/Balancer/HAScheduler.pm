package PVE::Balancer::HAScheduler;

# pve-balancer's scheduler for pve-ha-manager: the interface of
# PVE::RS::ResourceScheduling::{Static,Dynamic} (libpve-rs-perl) on the C++ engine, in two modes
# chosen cluster-wide in /etc/pve/balancer.cfg. See docs/ha.md.
#
# SPDX-License-Identifier: AGPL-3.0-or-later

use strict;
use warnings;

use PVE::Balancer::Native (); # loads the XS, which defines _new and the methods

=head1 NAME

PVE::Balancer::HAScheduler - HA scheduler modes and their configuration

=head1 DESCRIPTION

C<PVE::Balancer::HAScheduler::Static> and C<::Dynamic> offer exactly the methods, arguments,
return values and error messages of C<PVE::RS::ResourceScheduling::Static> and C<::Dynamic>
from libpve-rs-perl, which pve-ha-manager's C<PVE::HA::Usage::Static> and C<::Dynamic> use.
The pve-balancer package installs shims in place of those two files (see docs/ha.md), so
pve-ha-manager runs on the engine unchanged.

Two modes, read from F</etc/pve/balancer.cfg> each time a scheduler is created (the HA manager
creates one per round):

    ha-scheduler: compatible | capacity-aware     (default compatible)
    ha-imbalance: normalized | raw                (default normalized; compatible mode only)

=over

=item C<compatible>

Upstream's numbers exactly (proxmox-resource-scheduling, see docs/dev/upstream-crs.md).
C<ha-imbalance: raw> reproduces crate versions before 2.1.0 (libpve-rs-perl 0.13.x), whose
imbalance is the plain coefficient of variation; C<normalized> (2.1.0 and later) divides it by
sqrt(n - 1).

=item C<capacity-aware>

pve-balancer's rules behind the same interface: a node where the guest does not fit in memory
never ranks above one where it fits, and balance is judged per resource (CPU and memory
separately) with pve-balancer's objective. Same return shapes and ranges. See docs/ha.md for
the exact definitions.

=back

The configuration can never break the HA manager: a missing file means C<compatible>; an
unreadable file or an unknown value means C<compatible> with a warning (once per process); a
failure inside capacity-aware scoring answers with the compatible scores and warns once.

=head1 FUNCTIONS

=cut

our $CONFIG_PATH = '/etc/pve/balancer.cfg';

my %warned;

# Warns once per process and message.
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

my $known = {
    'ha-scheduler' => { compatible => 1, 'capacity-aware' => 1 },
    'ha-imbalance' => { normalized => 1, raw => 1 },
};
my $defaults = { 'ha-scheduler' => 'compatible', 'ha-imbalance' => 'normalized' };

# Lines "key: value" (datacenter.cfg style) or "key value" (section config style); comments
# and keys other than ha-* are ignored, so the file can hold other pve-balancer settings.
sub _parse {
    my ($path, $text) = @_;

    my $settings = {%$defaults};
    for my $line (split(/\n/, $text)) {
        next if $line =~ /^\s*(?:#|$)/;
        next if $line !~ /^\s*(ha-scheduler|ha-imbalance)(?:\s*:\s*|\s+)(\S+)\s*$/;
        my ($key, $value) = ($1, $2);
        if (!$known->{$key}->{$value}) {
            warn_once("$path: unknown $key '$value' - using '$defaults->{$key}'");
            $settings->{$key} = $defaults->{$key};
            next;
        }
        $settings->{$key} = $value;
    }
    return $settings;
}

=head3 read_settings()

Returns C<< { 'ha-scheduler' => ..., 'ha-imbalance' => ... } >> from the configuration file,
with the defaults for whatever is missing or wrong. Never dies.

=cut

sub read_settings {
    my $path = config_path();
    my $settings = eval {
        my $fh;
        if (!open($fh, '<', $path)) {
            my $err = $!;
            warn_once("cannot read $path: $err - using the compatible HA scheduler")
                if !$!{ENOENT};
            return {%$defaults};
        }
        local $/;
        my $text = <$fh>;
        if (!defined($text)) {
            my $err = $!;
            close($fh);
            warn_once("cannot read $path: $err - using the compatible HA scheduler");
            return {%$defaults};
        }
        close($fh);
        return _parse($path, $text);
    };
    if (my $err = $@) {
        chomp $err;
        warn_once("reading $path failed: $err - using the compatible HA scheduler");
        return {%$defaults};
    }
    return $settings;
}

=head3 create($class, $kind, $mode [, $imbalance])

Creates a scheduler object blessed into C<$class>. C<$kind> is C<'static'> or C<'dynamic'>,
C<$mode> C<'compatible'> or C<'capacity-aware'>, C<$imbalance> C<'normalized'> (default) or
C<'raw'>. Used by C<new> and C<new_with_mode> of the two scheduler classes.

=cut

sub create {
    my ($class, $kind, $mode, $imbalance) = @_;

    die "pve-balancer: unknown scheduler kind '" . ($kind // 'undef') . "'\n"
        if !defined($kind) || ($kind ne 'static' && $kind ne 'dynamic');
    die "pve-balancer: unknown ha-scheduler mode '" . ($mode // 'undef') . "'\n"
        if !defined($mode) || !$known->{'ha-scheduler'}->{$mode};
    $imbalance //= 'normalized';
    die "pve-balancer: unknown ha-imbalance '$imbalance'\n"
        if !$known->{'ha-imbalance'}->{$imbalance};

    $class = ref($class) || $class;
    return _new(
        $class,
        $kind eq 'static' ? 0 : 1,
        $mode eq 'capacity-aware' ? 1 : 0,
        $imbalance eq 'normalized' ? 1 : 0,
    );
}

# new($class) as the pve-rs packages have it, with the mode from the configuration.
sub _new_configured {
    my ($kind, @args) = @_;

    die "missing required parameter: 'class'\n" if !@args;
    die "too many parameters for function 'new', (expected 1)\n" if @args > 1;
    my $settings = read_settings();
    return create($args[0], $kind, $settings->{'ha-scheduler'}, $settings->{'ha-imbalance'});
}

1;

=head1 SEE ALSO

L<PVE::Balancer::HAScheduler::Static>, L<PVE::Balancer::HAScheduler::Dynamic>, docs/ha.md.

=cut
