package PVE::Balancer::HAScheduler::Shim;

# Loader behind the files pve-balancer installs in place of libpve-rs-perl's
# PVE/RS/ResourceScheduling/{Static,Dynamic}.pm (diverted to *.pm.distrib, see docs/ha.md).
# Pure Perl on purpose: it must work even when the XS module cannot be loaded.
#
# SPDX-License-Identifier: AGPL-3.0-or-later

use strict;
use warnings;

=head1 NAME

PVE::Balancer::HAScheduler::Shim - let PVE::RS::ResourceScheduling::* choose per round

=head1 FUNCTIONS

=head3 install($package, $kind, $shim_file)

Called by the shim C<$shim_file> of C<$package> (e.g. C<PVE::RS::ResourceScheduling::Static>,
C<$kind> C<'static'>). Loads pve-balancer's scheduler and gives C<$package> one sub, C<new>,
which decides on every call which implementation to return
(L<PVE::Balancer::HAScheduler/new_for_upstream>). Returns C<'pve-balancer'>.

If pve-balancer's modules cannot be loaded (e.g. a perl ABI mismatch of the XS), warns and
loads the diverted original, C<$shim_file.distrib>, instead, which then defines C<$package>
entirely (libpve-rs-perl's scheduler), and returns C<'libpve-rs-perl'>; if that is missing too,
dies, and pve-ha-manager falls back to its basic scheduler as it does without libpve-rs-perl.

=cut

# pve-balancer's class for a kind of scheduler.
sub _module_of {
    my ($kind) = @_;
    return $kind eq 'static'
        ? 'PVE::Balancer::HAScheduler::Static'
        : 'PVE::Balancer::HAScheduler::Dynamic';
}

sub install {
    my ($package, $kind, $shim_file) = @_;

    my $module = _module_of($kind);
    (my $path = "$module.pm") =~ s!::!/!g;
    my $ok = eval { require $path; 1 };
    if ($ok) {
        no strict 'refs';
        *{"${package}::new"} = sub {
            return PVE::Balancer::HAScheduler::new_for_upstream($package, $kind, $shim_file, @_);
        };
        return 'pve-balancer';
    }
    my $err = $@ || 'unknown error';
    chomp $err;

    my $original = "$shim_file.distrib";
    if (-f $original) {
        warn "pve-balancer: cannot load $module ($err) - using libpve-rs-perl's $package\n";
        my $res = do $original;
        return 'libpve-rs-perl' if $res;
        my $why = $@ || $! || 'did not return a true value';
        chomp $why;
        die "pve-balancer: loading $original failed - $why\n";
    }
    die "pve-balancer: cannot load $module - $err\n";
}

my %original; # package => [new of libpve-rs-perl, or undef and the error]

=head3 original_new($package, $shim_file)

libpve-rs-perl's own C<new> of C<$package>, from the diverted C<$shim_file.distrib>, loaded
under the package's real name the first time it is asked for (the original is a perlmod stub
that bootstraps libpve_rs.so's XSUBs into C<$package>). C<$package>'s C<new> stays the shim's
dispatcher; every other method of the package is then libpve-rs-perl's, which is what the
objects the original C<new> returns use. Returns C<($code)> or C<(undef, $error)>; a failed load
is not retried in the same process.

=cut

sub original_new {
    my ($package, $shim_file) = @_;

    return $original{$package}->@* if $original{$package};

    my $file = "$shim_file.distrib";
    return (undef, "$file not found") if !-f $file; # may be installed later: look again

    no strict 'refs';
    my $stash = \%{"${package}::"};
    my $dispatcher = defined(&{"${package}::new"}) ? \&{"${package}::new"} : undef;
    # The original defines `new` itself; make room so it does so without a redefine warning.
    delete $stash->{new};
    my $res = do $file;
    my $err = $@ || (defined($res) ? undef : $!) || ($res ? undef : 'did not return a true value');
    my $theirs = defined(&{"${package}::new"}) ? \&{"${package}::new"} : undef;
    if ($dispatcher) {
        no warnings 'redefine';
        *{"${package}::new"} = $dispatcher;
    }
    if (!$err && !$theirs) {
        $err = "it does not define ${package}::new";
    }
    if ($err) {
        chomp $err;
        $original{$package} = [undef, "loading $file failed - $err"];
    } else {
        $original{$package} = [$theirs];
    }
    return $original{$package}->@*;
}

1;
