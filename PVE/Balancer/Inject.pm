package PVE::Balancer::Inject;

# Adds or removes the one line that mounts /cluster/balance in /usr/bin/pvedaemon,
# /usr/bin/pveproxy and /usr/bin/pvesh:
#
#   BEGIN { eval { require PVE::Balancer::APIRegister; }; } # pve-balancer
#
# Idempotent (a file that has the line is left alone), keeps a backup of the file as it was
# before the first change (FILE.pve-balancer.bak), writes the new content to a temporary file
# next to the original, checks it with `perl -c` when the original compiles, and only then
# renames it over the original, so a file is never left broken or half written.
#
# Only core Perl is used: this runs from dpkg maintainer scripts and triggers, possibly while
# Proxmox packages are half upgraded.

use strict;
use warnings;

use Fcntl qw(:flock);
use File::Basename qw(dirname basename);
use File::Copy qw(copy);
use POSIX ();

our $line = 'BEGIN { eval { require PVE::Balancer::APIRegister; }; } # pve-balancer';
our @targets = qw(/usr/bin/pvedaemon /usr/bin/pveproxy /usr/bin/pvesh);
our $lockfile = '/run/lock/pve-balancer-inject.lock';

my $marker_re = qr/require\s+PVE::Balancer::APIRegister\b/;

my sub read_file {
    my ($file) = @_;

    open(my $fh, '<', $file) or die "unable to read '$file' - $!\n";
    local $/;
    my $content = <$fh>;
    close($fh);
    return $content;
}

my sub perl_check {
    my ($file, $perl) = @_;

    my $shebang = (split(/\n/, read_file($file), 2))[0] // '';
    my @cmd = ($perl // $^X);
    push @cmd, '-T' if $shebang =~ m/^#!.*\bperl\b.*\s-\w*T/;
    push @cmd, '-c', $file;

    my $pid = fork() // die "fork failed - $!\n";
    if (!$pid) {
        open(STDOUT, '>', '/dev/null');
        open(STDERR, '>', '/dev/null');
        exec(@cmd) or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    return $? == 0;
}

my sub with_lock {
    my ($code) = @_;

    my $fh;
    if (open($fh, '>>', $lockfile)) {
        flock($fh, LOCK_EX) or die "unable to lock '$lockfile' - $!\n";
    }
    my $res = eval { $code->() };
    my $err = $@;
    close($fh) if $fh;
    die $err if $err;
    return $res;
}

# Where the line goes: after the last top-level "use PVE::..." of the script's header (the API
# classes are loaded by then), else after "use warnings;"/"use strict;".
my sub insert_line {
    my ($content) = @_;

    my @lines = split(/\n/, $content, -1);
    my ($after_pve, $after_pragma);
    for my $i (0 .. $#lines) {
        my $l = $lines[$i];
        $after_pve = $i if $l =~ m/^use\s+PVE::[\w:]+.*;\s*$/;
        $after_pragma = $i if $l =~ m/^use\s+(?:strict|warnings)\b.*;\s*$/;
    }
    my $at = $after_pve // $after_pragma;
    die "no 'use' line to insert after\n" if !defined($at);

    splice(@lines, $at + 1, 0, $line);
    return join("\n", @lines);
}

my sub replace_file {
    my ($file, $content, %opts) = @_;

    my $tmp = dirname($file) . "/." . basename($file) . ".pve-balancer.$$";
    my @st = stat($file) or die "unable to stat '$file' - $!\n";

    eval {
        open(my $fh, '>', $tmp) or die "unable to write '$tmp' - $!\n";
        print $fh $content or die "unable to write '$tmp' - $!\n";
        close($fh) or die "unable to write '$tmp' - $!\n";
        chmod($st[2] & 07777, $tmp) or die "unable to chmod '$tmp' - $!\n";
        chown($st[4], $st[5], $tmp) if $> == 0;

        if ($opts{check} && perl_check($file, $opts{perl}) && !perl_check($tmp, $opts{perl})) {
            die "'$file' would not compile any more, left unchanged\n";
        }
        rename($tmp, $file) or die "unable to rename '$tmp' to '$file' - $!\n";
    };
    if (my $err = $@) {
        unlink($tmp);
        die $err;
    }
}

=head3 status($file)

C<installed> if C<$file> has the line, C<absent> if not, C<missing> if there is no such file.

=cut

sub status {
    my ($file) = @_;

    return 'missing' if !-f $file;
    return read_file($file) =~ $marker_re ? 'installed' : 'absent';
}

=head3 install($file, %opts)

Adds the line to C<$file>. Returns C<unchanged> if it is there already, C<installed> after
adding it, C<missing> if the file does not exist. Options: C<check> (default 1: compare
C<perl -c> before and after), C<perl> (the interpreter for the check).

=cut

sub install {
    my ($file, %opts) = @_;

    $opts{check} //= 1;

    return with_lock(sub {
        return 'missing' if !-f $file;
        my $content = read_file($file);
        return 'unchanged' if $content =~ $marker_re;

        my $backup = "$file.pve-balancer.bak";
        if (!-e $backup) {
            copy($file, $backup) or die "unable to back up '$file' to '$backup' - $!\n";
        }

        replace_file($file, insert_line($content), %opts);
        return 'installed';
    });
}

=head3 remove($file, %opts)

Removes the line from C<$file>. Returns C<unchanged> if it is not there, C<removed> after
removing it, C<missing> if the file does not exist.

=cut

sub remove {
    my ($file, %opts) = @_;

    $opts{check} //= 1;

    return with_lock(sub {
        return 'missing' if !-f $file;
        my $content = read_file($file);
        return 'unchanged' if $content !~ $marker_re;

        my @lines = grep { $_ !~ $marker_re } split(/\n/, $content, -1);
        replace_file($file, join("\n", @lines), %opts);
        return 'removed';
    });
}

1;
