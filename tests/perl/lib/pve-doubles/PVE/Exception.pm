package PVE::Exception;

# Test double of pve-common's PVE::Exception (src/PVE/Exception.pm): an exception object with a message, an HTTP
# status code and, for parameter errors, a hash of field => message.

use strict;
use warnings;

use HTTP::Status qw(:constants);
use Storable qw(dclone);

use overload
    '""' => sub { local $@; $_[0]->stringify() },
    'cmp' => sub { my ($a, $b) = @_; local $@; "$a" cmp "$b" };

use base 'Exporter';
our @EXPORT_OK = qw(raise raise_param_exc raise_perm_exc);

sub new {
    my ($class, $msg, %param) = @_;

    my $self = { msg => $msg };
    for my $key (keys %param) {
        my $value = $param{$key};
        $self->{$key} = ref($value) ? dclone($value) : $value;
    }
    return bless $self, ref($class) || $class;
}

my sub throw {
    my ($exc) = @_;

    my (undef, $file, $line) = caller(1);
    $exc->{filename} = $file;
    $exc->{line} = $line;
    die $exc;
}

sub raise {
    my ($msg, %param) = @_;
    throw(PVE::Exception->new($msg, %param));
}

sub raise_param_exc {
    my ($errors, $usage) = @_;

    my %param = (code => HTTP_BAD_REQUEST, errors => $errors);
    $param{usage} = $usage if $usage;
    throw(PVE::Exception->new("Parameter verification failed.\n", %param));
}

sub raise_perm_exc {
    my ($what) = @_;

    my $msg = "Permission check failed" . ($what ? " ($what)" : '') . "\n";
    throw(PVE::Exception->new($msg, code => HTTP_FORBIDDEN));
}

sub is_param_exc {
    my ($self) = @_;
    return ($self->{code} // 0) == HTTP_BAD_REQUEST;
}

sub stringify {
    my ($self) = @_;

    my $msg = $self->{code} ? "$self->{code} $self->{msg}" : $self->{msg};
    if ($msg !~ m/\n$/) {
        $msg .= " at $self->{filename} line $self->{line}" if $self->{filename};
        $msg .= "\n";
    }
    if (my $errors = $self->{errors}) {
        $msg .= "$_: $errors->{$_}\n" for sort keys %$errors;
    }
    $msg .= $self->{usage} if $self->{usage};
    return $msg;
}

1;
