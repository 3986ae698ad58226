package PVE::Balancer::HAScheduler::Shim;

# Loader behind the files pve-balancer installs in place of libpve-rs-perl's
# PVE/RS/ResourceScheduling/{Static,Dynamic}.pm (diverted to *.pm.distrib, see docs/ha.md).
# Pure Perl on purpose: it must work even when the XS module cannot be loaded.
#
# SPDX-License-Identifier: AGPL-3.0-or-later

use strict;
use warnings;

=head1 NAME

PVE::Balancer::HAScheduler::Shim - make PVE::RS::ResourceScheduling::* run on pve-balancer

=head1 FUNCTIONS

=head3 install($package, $module, $shim_file)

Loads C<$module> (e.g. C<PVE::Balancer::HAScheduler::Static>), makes C<$package> (e.g.
C<PVE::RS::ResourceScheduling::Static>) a subclass of it and aliases C<$module>'s subs into
C<$package>, so C<< $package->new >> and every method run on pve-balancer. Returns
C<'pve-balancer'>, or C<'libpve-rs-perl'> after the fallback below. If C<$module> cannot be loaded, warns and loads the diverted
original, C<$shim_file.distrib>, instead (libpve-rs-perl's scheduler); if that is missing too,
dies, and pve-ha-manager falls back to its basic scheduler as it does without libpve-rs-perl.

=cut

sub install {
    my ($package, $module, $shim_file) = @_;

    (my $path = "$module.pm") =~ s!::!/!g;
    my $ok = eval { require $path; 1 };
    if ($ok) {
        no strict 'refs';
        @{"${package}::ISA"} = ($module);
        # Upstream defines its subs in $package itself: alias ours there too, so function-call
        # style (PKG::method($obj, ...)) and PKG->can('method') behave the same.
        for my $name (sort keys %{"${module}::"}) {
            next if $name =~ /^(?:BEGIN|END|INIT|CHECK|UNITCHECK|import|unimport|ISA|VERSION)$/;
            my $code = *{"${module}::$name"}{CODE} or next;
            *{"${package}::$name"} = $code;
        }
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

1;
